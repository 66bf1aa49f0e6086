--[[
  Opens the dataset sentinel at a node's start: creates it on a fresh dataset (a random id,
  sequence 0), else reads it. See dataset-epoch.ts.

  Input:
    KEYS[1]   the dataset sentinel hash
    ARGV[1]   a fresh random id, used only when the sentinel has none

  Output:
    {id, seq, halted, created}: the dataset id, its commit sequence, the halt record ('' when not
    halted), and 1 when this call created the id (a fresh dataset, or one from before sentinels).
]]
local rcall = redis.call
local created = rcall("HSETNX", KEYS[1], "id", ARGV[1])
if created == 1 then
  rcall("HSETNX", KEYS[1], "seq", 0)
end
local epoch = rcall("HMGET", KEYS[1], "id", "seq", "halted")
return {epoch[1], tonumber(epoch[2]) or 0, epoch[3] or "", created}
