-- Headless check of format_on_save in editors/neovim/atlas-cedar.lua: opens a
-- copy of a policy, waits for the server, writes the buffer and checks that
-- the file on disk starts with the line the fake server's formatter inserts.
-- Run by selftest.sh (fake_server.py only):
--
--   nvim --headless -u NONE -i NONE -n -c "luafile check_format.lua"
--
-- Environment: ATLAS_CEDAR_CONFIG, ATLAS_CEDAR_SERVER, ATLAS_CEDAR_FILE (a
-- scratch copy: it is rewritten), ATLAS_CEDAR_TIMEOUT_MS.

local MARK = "// formatted by fake_server.py"

local function out(line)
  io.stdout:write(line .. "\n")
  io.stdout:flush()
end

local ok, result = pcall(function()
  local server = os.getenv("ATLAS_CEDAR_SERVER")
  local file = assert(os.getenv("ATLAS_CEDAR_FILE"), "ATLAS_CEDAR_FILE is not set")
  local timeout = tonumber(os.getenv("ATLAS_CEDAR_TIMEOUT_MS") or "20000")

  vim.g.atlas_cedar = { cmd = vim.split(server, "%s+", { trimempty = true }), format_on_save = true }
  dofile(assert(os.getenv("ATLAS_CEDAR_CONFIG"), "ATLAS_CEDAR_CONFIG is not set"))

  vim.cmd("edit " .. vim.fn.fnameescape(file))
  local bufnr = vim.api.nvim_get_current_buf()
  local attached = vim.wait(timeout, function()
    local clients = vim.lsp.get_clients and vim.lsp.get_clients({ bufnr = bufnr })
      or vim.tbl_values(vim.lsp.buf_get_clients(bufnr))
    for _, client in ipairs(clients) do
      if client.initialized ~= false and client.server_capabilities
        and client.server_capabilities.documentFormattingProvider then
        return true
      end
    end
    return false
  end, 50)
  if not attached then
    out("FAIL: no server with formatting attached")
    return false
  end
  vim.cmd("write")
  local first = vim.fn.readfile(file)[1]
  if first == MARK then
    out("PASS: format on save applied the server's edit")
    return true
  end
  out("FAIL: first line after :write is " .. vim.inspect(first))
  return false
end)

if not ok then
  out("FAIL: " .. tostring(result))
end
vim.cmd((ok and result) and "qall!" or "cquit")
