--[[
  Claims free partitions, up to a number: a lease nobody holds is taken with a TTL.

  All KEYS must be in one hash slot: on Redis Cluster each lease is in its partition's slot, so
  the node calls this with one lease at a time (membership.ts).

  Input:
    KEYS[1..n]  lease keys of candidate partitions, in order of preference

    ARGV[1]     node name
    ARGV[2]     lease time in ms
    ARGV[3]     at most this many to claim

  Output:
    {i1, i2, ..}: the 1-based indexes of the keys claimed
]]
local rcall = redis.call
local wanted = tonumber(ARGV[3])
local claimed = {}
for i = 1, #KEYS do
  if #claimed >= wanted then
    break
  end
  if rcall("SET", KEYS[i], ARGV[1], "NX", "PX", ARGV[2]) then
    claimed[#claimed + 1] = i
  end
end
return claimed
