--[[
  Saves one entity's state if it is still at the version the writer read (optimistic concurrency).

  Input:
    KEYS[1]   state hash of the entity

    ARGV[1]   expected version (0: the entity must not exist yet)
    ARGV[2]   the new state JSON

  Output:
    {0, version}   saved at `version` (expected + 1)
    {2, version}   conflict: the entity is at `version`
]]
local rcall = redis.call

local expected = tonumber(ARGV[1])
local current = tonumber(rcall("HGET", KEYS[1], "v") or "0")
if current ~= expected then
  return {2, current}
end
rcall("HSET", KEYS[1], "v", expected + 1, "d", ARGV[2])
return {0, expected + 1}
