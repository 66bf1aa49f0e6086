--[[
  Registers a cluster-wide name for a pid, unless the name is taken.

  Input:
    KEYS[1]   names hash (name → pid)
    KEYS[2]   the registering node's set of names

    ARGV[1]   name
    ARGV[2]   pid

  Output:
    {1, pid}        registered
    {0, holder}     taken by `holder`
]]
local rcall = redis.call
if rcall("HSETNX", KEYS[1], ARGV[1], ARGV[2]) == 1 then
  rcall("SADD", KEYS[2], ARGV[1])
  return {1, ARGV[2]}
end
return {0, rcall("HGET", KEYS[1], ARGV[1])}
