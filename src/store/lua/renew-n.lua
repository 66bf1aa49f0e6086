--[[
  Renews the leases a node holds; a lease held by someone else (or expired) is not touched.

  All KEYS must be in one hash slot: on Redis Cluster each lease is in its partition's slot, so
  the node calls this with one lease at a time (membership.ts).

  Input:
    KEYS[1..n]  lease keys

    ARGV[1]     node name
    ARGV[2]     lease time in ms

  Output:
    {flag1, .., flagn}: 1 renewed, 0 lost
]]
local rcall = redis.call
local result = {}
for i = 1, #KEYS do
  if rcall("GET", KEYS[i]) == ARGV[1] then
    rcall("PEXPIRE", KEYS[i], ARGV[2])
    result[i] = 1
  else
    result[i] = 0
  end
end
return result
