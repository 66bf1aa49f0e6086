--[[
  A node's heartbeat: it is alive for another `ttl` ms, and here is what it hosts.

  Input:
    KEYS[1]   nodes sorted set (node → liveness deadline, Redis clock)
    KEYS[2]   node info hash (node → JSON)

    ARGV[1]   node name
    ARGV[2]   ttl in ms
    ARGV[3]   node info JSON

  Output:
    {now, node1, deadline1, info1, node2, deadline2, info2, ...}: the Redis clock in ms and every
    known node (alive or not) with its deadline and info, so every node judges liveness on one clock.
]]
local rcall = redis.call
local t = rcall("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

rcall("ZADD", KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
rcall("HSET", KEYS[2], ARGV[1], ARGV[3])

local result = {now}
local all = rcall("ZRANGE", KEYS[1], 0, -1, "WITHSCORES")
for i = 1, #all, 2 do
  result[#result + 1] = all[i]
  result[#result + 1] = all[i + 1]
  result[#result + 1] = rcall("HGET", KEYS[2], all[i]) or ""
end
return result
