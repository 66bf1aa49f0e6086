--[[
  Releases leases, only those still held by the node (a lease taken over is left alone).

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
