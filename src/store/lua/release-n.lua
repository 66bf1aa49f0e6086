--[[
  Releases leases, only those still held by the node (a lease taken over is left alone).

  All KEYS must be in one hash slot: on Redis Cluster each lease is in its partition's slot, so
  the node calls this with one lease at a time (membership.ts).

  Input:
    KEYS[1..n]  lease keys

    ARGV[1]     node name

  Output:
    the number of leases released
]]
local rcall = redis.call
local released = 0
for i = 1, #KEYS do
  if rcall("GET", KEYS[i]) == ARGV[1] then
    rcall("DEL", KEYS[i])
    released = released + 1
  end
end
return released
