-- Driven by tests/nvim.rs: Neovim's built-in client (0.7 API) against `rulec lsp` over stdio.
-- Every result goes into one JSON file that the Rust test checks.
local bin, root, out_path = os.getenv("RULEC"), os.getenv("WS"), os.getenv("OUT")
local out = { steps = {} }

local function finish()
  local f = io.open(out_path, "w")
  f:write(vim.fn.json_encode(out))
  f:close()
  vim.cmd("qa!")
end

local client_id = vim.lsp.start_client({ name = "lanner", cmd = { bin, "lsp" }, root_dir = root })
if not client_id then
  out.error = "start_client failed"
  finish()
end

vim.cmd("edit " .. root .. "/b_rules.yaml")
local buf = vim.api.nvim_get_current_buf()
vim.lsp.buf_attach_client(buf, client_id)

local function codes(b)
  local list = {}
  for _, d in ipairs(vim.diagnostic.get(b)) do
    local lsp = d.user_data and d.user_data.lsp or {}
    table.insert(list, { lnum = d.lnum, col = d.col, code = lsp.code or d.code, message = d.message })
  end
  table.sort(list, function(x, y) return x.lnum < y.lnum or (x.lnum == y.lnum and x.col < y.col) end)
  return list
end

out.got_diagnostics = vim.wait(20000, function() return #vim.diagnostic.get(buf) > 0 end, 20)
out.diagnostics = codes(buf)

local function pos(line, col)
  return { textDocument = { uri = vim.uri_from_bufnr(buf) }, position = { line = line, character = col } }
end
local function req(method, params)
  local r, err = vim.lsp.buf_request_sync(buf, method, params, 10000)
  if not r then return { error = tostring(err) } end
  for _, v in pairs(r) do
    if v.err then return { error = v.err.message } end
    return v.result or vim.NIL
  end
  return vim.NIL
end

-- Line 2 (0-based) of b_rules.yaml is `  condition: spawned_process and proc.nmae = bash`.
-- Line 3 (0-based) is `  output: o %proc.name`.
out.hover_field = req("textDocument/hover", pos(3, 14))
out.hover_macro = req("textDocument/hover", pos(2, 16))
out.definition = req("textDocument/definition", pos(2, 16))

local rp = pos(2, 16)
rp.newName = "spawned"
local edit = req("textDocument/rename", rp)
out.rename_files = 0
if type(edit) == "table" and edit.changes then
  for _ in pairs(edit.changes) do out.rename_files = out.rename_files + 1 end
  vim.lsp.util.apply_workspace_edit(edit, "utf-16")
end
out.b_after_rename = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n")
local abuf = vim.fn.bufnr(root .. "/a_rules.yaml")
out.a_after_rename = table.concat(vim.api.nvim_buf_get_lines(abuf, 0, -1, false), "\n")
-- The renamed definition lives in a buffer the client has not attached yet: attach it, so the
-- server sees both edited files, then wait until only the two original errors are left.
vim.lsp.buf_attach_client(abuf, client_id)
-- The field moved 8 columns left with the shorter name: waiting for that column tells the
-- new diagnostics from the old ones.
local field_col = string.find(vim.api.nvim_buf_get_lines(buf, 2, 3, false)[1], "proc.nmae", 1, true) - 1
out.field_col_after_rename = field_col
out.settled = vim.wait(20000, function()
  local d = codes(buf)
  return #d == 2 and d[1].code == "L301" and d[1].col == field_col and d[2].code == "L201"
end, 20)
out.diagnostics_after_rename = codes(buf)

-- Typing fixes the field: the diagnostics go away.
local line = vim.api.nvim_buf_get_lines(buf, 2, 3, false)[1]
local at = string.find(line, "nmae", 1, true) - 1
vim.api.nvim_buf_set_text(buf, 2, at, 2, at + 4, { "name" })
out.cleared = vim.wait(20000, function()
  local d = codes(buf)
  return #d == 1 and d[1].code == "L201"
end, 20)

-- Formatting through the server (0.7's synchronous request).
out.before_format = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n") .. "\n"
vim.lsp.buf.formatting_sync(nil, 10000)
out.after_format = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n") .. "\n"

vim.lsp.stop_client(client_id)
finish()
