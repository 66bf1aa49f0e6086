--[[
  Forgets a dead node: its liveness entry, its info and its cluster-wide names. Only one caller
  wins, so only one node cleans up after it; a node that came back in the meantime is left alone.

  Input:
    KEYS[1]   nodes sorted set
    KEYS[2]   node info hash
    KEYS[3]   names hash
    KEYS[4]   the dead node's set of names

    ARGV[1]   node name
    ARGV[2]   reap only if its deadline is before this time (ms, Redis clock)

  Output:
    1 reaped by this call, 0 not dead (or already reaped)
]]
local rcall = redis.call
local deadline = rcall("ZSCORE", KEYS[1], ARGV[1])
if not deadline or tonumber(deadline) >= tonumber(ARGV[2]) then
  return 0
end
rcall("ZREM", KEYS[1], ARGV[1])
rcall("HDEL", KEYS[2], ARGV[1])
local prefix = "<" .. ARGV[1] .. "."
for _, name in ipairs(rcall("SMEMBERS", KEYS[4])) do
  local pid = rcall("HGET", KEYS[3], name)
  if pid and string.sub(pid, 1, #prefix) == prefix then
    rcall("HDEL", KEYS[3], name)
  end
end
rcall("DEL", KEYS[4])
return 1
