--[[
  Opens a dataset sentinel: the fleet's at a node's start (created on a fresh dataset with a
  random id), or a partition's copy before its first commit (created with the dataset's id and
  sequence 0); else reads it. See dataset-epoch.ts.

  Input:
    KEYS[1]   the sentinel hash
    ARGV[1]   the id to set when the sentinel has none
    ARGV[2]   'seq' to start a commit sequence at 0 with it (a partition's copy), else ''

  Output:
    {id, seq, halted, created}: the dataset id, its commit sequence, the halt record ('' when not
    halted), and 1 when this call created the id (a fresh dataset, or one from before sentinels).
]]
local rcall = redis.call
local created = rcall("HSETNX", KEYS[1], "id", ARGV[1])
if created == 1 and ARGV[2] == "seq" then
  rcall("HSETNX", KEYS[1], "seq", 0)
end
local epoch = rcall("HMGET", KEYS[1], "id", "seq", "halted")
return {epoch[1], tonumber(epoch[2]) or 0, epoch[3] or "", created}
