---@meta _
-- LuaLS type stubs for the parts of the standard library that luaproxy's sandbox
-- changes. With the .luarc.json from examples/, the language server drops `io`,
-- `debug`, `package`, `coroutine` and the full `os` (the sandbox does not have them)
-- and uses this `os` instead. string, table, math and utf8 are the standard ones.

---The sandbox's `os`: only time, date, difftime and clock.
---@class luaproxy.oslib
os = {}

---The current time, or the time of a date table, in seconds since the epoch.
---Integers are 32-bit in luaproxy's Lua: dates after 2038 raise an error.
---@param t? osdateparam
---@return integer
function os.time(t) end

---Format a time like C's strftime. `!` (UTC) is ignored: luaproxy's Lua always uses local time.
---@param format? string
---@param time? integer
---@return string|osdate
function os.date(format, time) end

---@param t2 integer
---@param t1 integer
---@return number
function os.difftime(t2, t1) end

---Seconds since the script's state was created, with sub-microsecond resolution
---(wall-clock time, not CPU time). Use differences of it to time things.
---@return number
function os.clock() end
