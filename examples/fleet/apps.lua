-- A module the fleet's script requires: published with it as <prefix>lua/apps.lua.
local M = {}

local RELOAD = "^/user/[^/]+/webapps/([^/]+)/reload$"

-- the app a control URL is about, lower-cased and without a trailing dot, or nil
function M.reload_target(path)
  local domain = path:match(RELOAD)
  if domain then return (domain:lower():gsub("%.$", "")) end
  return nil
end

return M
