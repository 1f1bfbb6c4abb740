-- Headless check that editors/neovim/atlas-cedar.lua gets diagnostics from
-- the server. Run by run.sh as:
--
--   nvim --headless -u NONE -i NONE -n -c "luafile check_diagnostics.lua"
--
-- Environment (all set by run.sh):
--   ATLAS_CEDAR_CONFIG       path to atlas-cedar.lua
--   ATLAS_CEDAR_SERVER       server command, split on whitespace ("atlas-cedar lsp")
--   ATLAS_CEDAR_FILE         the policy file to open
--   ATLAS_CEDAR_EXPECT_CODE  the diagnostic code that must arrive (e.g. AC300)
--   ATLAS_CEDAR_TIMEOUT_MS   how long to wait for it (default 20000)
--
-- Prints every diagnostic received, then exits 0 if one has the expected
-- code and 1 otherwise (timeout, server missing or crashed, wrong code).

local function out(line)
  io.stdout:write(line .. "\n")
  io.stdout:flush()
end

-- vim.lsp.get_clients is 0.10+; get_active_clients/buf_get_clients are the 0.7 names.
local function all_clients()
  if vim.lsp.get_clients then
    return vim.lsp.get_clients()
  end
  return vim.lsp.get_active_clients()
end

local function buffer_clients(bufnr)
  if vim.lsp.get_clients then
    return vim.lsp.get_clients({ bufnr = bufnr })
  end
  local list = {}
  for _, client in pairs(vim.lsp.buf_get_clients(bufnr)) do
    table.insert(list, client)
  end
  return list
end

-- Clients that are still starting (initialize not answered yet) are not
-- "active" in 0.7, but get_client_by_id finds them.
-- Method-call syntax for is_stopped works on every version (0.7's ignores
-- its argument); 0.11+ deprecates the dot form.
local function live_client_count()
  local n = 0
  for id = 1, 32 do
    local client = vim.lsp.get_client_by_id(id)
    if client and not client:is_stopped() then
      n = n + 1
    end
  end
  return n
end

local function finish(ok)
  -- Stop the servers politely so none is left behind, then leave.
  local clients = all_clients()
  for _, client in ipairs(clients) do
    if vim.fn.has("nvim-0.11") == 1 then
      client:stop()
    else
      client.stop() -- 0.7-0.10: client.stop(force); a colon call would force
    end
  end
  vim.wait(3000, function()
    for _, client in ipairs(clients) do
      if not client:is_stopped() then
        return false
      end
    end
    return true
  end, 50)
  if ok then
    vim.cmd("qall!")
  else
    vim.cmd("cquit")
  end
end

local function env(name, default)
  local value = os.getenv(name)
  if value == nil or value == "" then
    return default
  end
  return value
end

local ok, err = pcall(function()
  local config = assert(env("ATLAS_CEDAR_CONFIG"), "ATLAS_CEDAR_CONFIG is not set")
  local server = env("ATLAS_CEDAR_SERVER", "atlas-cedar lsp")
  local file = assert(env("ATLAS_CEDAR_FILE"), "ATLAS_CEDAR_FILE is not set")
  local expect = assert(env("ATLAS_CEDAR_EXPECT_CODE"), "ATLAS_CEDAR_EXPECT_CODE is not set")
  local timeout = tonumber(env("ATLAS_CEDAR_TIMEOUT_MS", "20000"))

  -- Surface the config's own error messages (vim.notify) on stdout.
  local notify = vim.notify
  vim.notify = function(msg, level, opts)
    out("notify: " .. tostring(msg))
    return notify(msg, level, opts)
  end

  vim.g.atlas_cedar = { cmd = vim.split(server, "%s+", { trimempty = true }) }
  dofile(config)

  out(("nvim %s: opening %s with server `%s`, expecting %s within %d ms"):format(
    tostring(vim.version().major) .. "." .. tostring(vim.version().minor) .. "." .. tostring(vim.version().patch),
    file,
    server,
    expect,
    timeout
  ))
  vim.cmd("edit " .. vim.fn.fnameescape(file))
  local bufnr = vim.api.nvim_get_current_buf()
  if vim.bo[bufnr].filetype ~= "cedar" then
    out("FAIL: filetype is '" .. vim.bo[bufnr].filetype .. "', not 'cedar'")
    return false
  end

  local function code_of(d)
    if d.code ~= nil then
      return tostring(d.code)
    end
    local lsp = d.user_data and d.user_data.lsp
    if lsp and lsp.code ~= nil then
      return tostring(lsp.code)
    end
    return nil
  end

  local attached_once = false
  local started_once = false
  local found = vim.wait(timeout, function()
    if #buffer_clients(bufnr) > 0 then
      attached_once = true
    end
    if live_client_count() > 0 then
      started_once = true
    end
    for _, d in ipairs(vim.diagnostic.get(bufnr)) do
      if code_of(d) == expect then
        return true
      end
    end
    -- Give up early if the server was started and has died.
    if started_once and live_client_count() == 0 then
      return true
    end
    return false
  end, 50)

  local diagnostics = vim.diagnostic.get(bufnr)
  local matched = false
  for _, d in ipairs(diagnostics) do
    local code = code_of(d) or "-"
    if code == expect then
      matched = true
    end
    out(("%s:%d:%d: %s %s: %s [%s]"):format(
      file,
      d.lnum + 1,
      d.col + 1,
      vim.diagnostic.severity[d.severity] or tostring(d.severity),
      code,
      (d.message:gsub("\n", " ")),
      d.source or "-"
    ))
  end
  if matched then
    out(("PASS: diagnostic %s received (%d diagnostic(s))"):format(expect, #diagnostics))
    return true
  end
  if started_once and live_client_count() == 0 then
    out("FAIL: the language server exited before sending " .. expect)
  elseif not attached_once then
    out("FAIL: no language server attached to the buffer (is the server command right?)")
  elseif #diagnostics == 0 then
    out(("FAIL: no diagnostics within %d ms"):format(timeout))
  else
    out(("FAIL: %d diagnostic(s), none with code %s"):format(#diagnostics, expect))
  end
  return false
end)

if not ok then
  out("FAIL: " .. tostring(err))
  finish(false)
else
  finish(err)
end
