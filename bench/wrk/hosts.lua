-- wrk script: cycles through 200 Host names (so a hashing proxy spreads them over its
-- backends) with pre-built requests. Arguments after `--`: PATH [METHOD] [BODY_BYTES] [close]
local reqs, i = {}, 0
function init(args)
  local path = args[1] or "/1k"
  local method = args[2] or "GET"
  local bytes = tonumber(args[3] or "0")
  local close = args[4] == "close"
  local body = nil
  if bytes > 0 then body = string.rep("x", bytes) end
  for n = 1, 200 do
    local h = { ["Host"] = "app" .. n .. ".example.com" }
    if body then h["Content-Type"] = "application/octet-stream" end
    if close then h["Connection"] = "close" end
    reqs[n] = wrk.format(method, path, h, body)
  end
end
function request()
  i = i % #reqs + 1
  return reqs[i]
end
