--[[
  Removes a cluster-wide name, only if it still names the given pid (or any pid when ARGV[2] is '').

  Input:
    KEYS[1]   names hash (name → pid)
    KEYS[2]   the owning node's set of names

    ARGV[1]   name
    ARGV[2]   pid, or ''

  Output:
    1 removed, 0 not registered (or registered to another pid)
]]
local rcall = redis.call
local holder = rcall("HGET", KEYS[1], ARGV[1])
if not holder or (ARGV[2] ~= "" and holder ~= ARGV[2]) then
  return 0
end
rcall("HDEL", KEYS[1], ARGV[1])
rcall("SREM", KEYS[2], ARGV[1])
return 1
