-- atlas-cedar.lua: Neovim support for MongoDB Atlas resource policies in Cedar.
--
-- Sets filetype `cedar` for *.cedar files and starts the `atlas-cedar lsp`
-- language server (stdio) for them, one server per project root: the nearest
-- directory holding atlas-cedar.toml, else the nearest holding .git, else the
-- file's own directory.
--
-- Works with Neovim 0.7 and later (Debian bookworm ships 0.7.2); newer APIs
-- are used only where they exist. No plugin is needed.
--
-- Install: copy this file to ~/.config/nvim/plugin/atlas-cedar.lua. Options go in
-- init.lua (read when the file is sourced), all optional:
--
--   vim.g.atlas_cedar = {
--     cmd = { "atlas-cedar", "lsp" },   -- server command; e.g. { "/path/to/atlas-cedar", "lsp" }
--     root_markers = { "atlas-cedar.toml", ".git" },
--     format_on_save = false,           -- format through the server before each write (Cedar buffers)
--     terraform = false,                -- also start it for `terraform` buffers (*.tf): findings
--                                       -- and answers only inside mongodbatlas_resource_policy
--                                       -- bodies; a .tf file is never formatted
--   }
--
-- Or copy it to ~/.config/nvim/lua/atlas-cedar.lua and call
--   require("atlas-cedar").setup({ format_on_save = true, on_attach = function(client, bufnr) ... end })

local M = {}

local defaults = {
  name = "atlas-cedar",
  cmd = { "atlas-cedar", "lsp" },
  root_markers = { "atlas-cedar.toml", ".git" },
  format_on_save = false,
  terraform = false, -- also attach to Terraform buffers (policy bodies only)
  on_attach = nil, -- function(client, bufnr)
  settings = {},
  init_options = nil,
}

local options = vim.deepcopy(defaults)
local clients_by_root = {} -- Neovim 0.7 only: root_dir -> client id
local warned_missing = false

local function notify(msg, level)
  vim.schedule(function()
    vim.notify("atlas-cedar: " .. msg, level or vim.log.levels.WARN)
  end)
end

local uv = vim.uv or vim.loop -- vim.uv from 0.10

local function exists(path)
  return uv.fs_stat(path) ~= nil
end

-- Nearest ancestor of `start` (a directory) that holds `marker`, or nil.
local function find_up(start, marker)
  local dir = start
  while dir and dir ~= "" do
    if exists(dir .. "/" .. marker) then
      return dir
    end
    local parent = vim.fn.fnamemodify(dir, ":h")
    if parent == dir then
      return nil
    end
    dir = parent
  end
  return nil
end

-- The project root for a buffer: the markers are tried in order, each searched upwards.
function M.root_dir(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  local dir
  if name == "" then
    dir = vim.fn.getcwd()
  else
    dir = vim.fn.fnamemodify(name, ":p:h")
  end
  for _, marker in ipairs(options.root_markers) do
    local root = find_up(dir, marker)
    if root then
      return root
    end
  end
  return dir
end

local function format_sync(bufnr, client_id)
  if vim.lsp.buf.format then -- 0.8+
    vim.lsp.buf.format({
      bufnr = bufnr,
      timeout_ms = 2000,
      filter = function(client)
        return client.id == client_id
      end,
    })
  else -- 0.7
    vim.lsp.buf.formatting_sync(nil, 2000)
  end
end

local augroup_format = vim.api.nvim_create_augroup("AtlasCedarFormat", { clear = true })

local function on_attach(client, bufnr)
  -- Format on save is for Cedar buffers: the server never formats a Terraform file.
  if options.format_on_save and vim.bo[bufnr].filetype == "cedar" then
    vim.api.nvim_clear_autocmds({ group = augroup_format, buffer = bufnr })
    vim.api.nvim_create_autocmd("BufWritePre", {
      group = augroup_format,
      buffer = bufnr,
      desc = "atlas-cedar: format on save",
      callback = function()
        format_sync(bufnr, client.id)
      end,
    })
  end
  if options.on_attach then
    options.on_attach(client, bufnr)
  end
end

-- Starts (or reuses) the server for `bufnr` and attaches it.
function M.start(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local cmd = options.cmd
  if type(cmd) == "string" then
    cmd = vim.split(cmd, "%s+", { trimempty = true })
  end
  if type(cmd) ~= "table" or cmd[1] == nil then
    notify("the server command (vim.g.atlas_cedar.cmd) is empty", vim.log.levels.ERROR)
    return nil
  end
  if vim.fn.executable(cmd[1]) ~= 1 then
    if not warned_missing then
      warned_missing = true
      notify(
        ("`%s` is not an executable on PATH, so the language server is not started. "
          .. "Install it (cargo install --path crates/atlas-cedar-cli) or set "
          .. "vim.g.atlas_cedar = { cmd = { '/path/to/atlas-cedar', 'lsp' } }."):format(cmd[1]),
        vim.log.levels.ERROR
      )
    end
    return nil
  end

  local root = M.root_dir(bufnr)
  local config = {
    name = options.name,
    cmd = cmd,
    root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = root } },
    settings = options.settings,
    init_options = options.init_options,
    on_attach = on_attach,
  }

  if vim.lsp.start then -- 0.8+: reuses a client with the same name and root_dir
    local id
    vim.api.nvim_buf_call(bufnr, function()
      id = vim.lsp.start(config, { bufnr = bufnr })
    end)
    return id
  end

  -- 0.7: one client per root, started once and attached to each buffer.
  local id = clients_by_root[root]
  local client = id and vim.lsp.get_client_by_id(id)
  if not client or client:is_stopped() then
    id = vim.lsp.start_client(config)
    if not id then
      notify("could not start " .. table.concat(cmd, " "), vim.log.levels.ERROR)
      return nil
    end
    clients_by_root[root] = id
  end
  vim.lsp.buf_attach_client(bufnr, id)
  return id
end

function M.setup(opts)
  options = vim.tbl_deep_extend("force", vim.deepcopy(defaults), opts or {})
  warned_missing = false

  local group = vim.api.nvim_create_augroup("AtlasCedar", { clear = true })

  -- Filetype detection. vim.filetype.add is honoured from 0.8 on (0.7 needs
  -- g:do_filetype_lua), so an autocmd covers 0.7 too; setfiletype never
  -- overrides a filetype already chosen.
  if vim.filetype and vim.filetype.add then
    vim.filetype.add({ extension = { cedar = "cedar" } })
  end
  vim.api.nvim_create_autocmd({ "BufRead", "BufNewFile" }, {
    group = group,
    pattern = "*.cedar",
    command = "setfiletype cedar",
  })

  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    -- `terraform = true`: also attach to Terraform buffers (beside terraform-ls);
    -- the server reports only inside mongodbatlas_resource_policy bodies.
    pattern = options.terraform and { "cedar", "terraform" } or "cedar",
    desc = "atlas-cedar: start the language server",
    callback = function(args)
      if vim.bo[args.buf].filetype == "cedar" then
        vim.bo[args.buf].commentstring = "// %s"
        vim.bo[args.buf].comments = "://"
      end
      M.start(args.buf)
    end,
  })

  -- Buffers already open when the file is sourced late (e.g. :source).
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buf) then
      local ft = vim.bo[buf].filetype
      if ft == "cedar" or (options.terraform and ft == "terraform") then
        M.start(buf)
      end
    end
  end
end

M.setup(vim.g.atlas_cedar)

return M
