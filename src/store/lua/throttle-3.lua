--[[
  One tenant's request rate at the door: a generic cell rate algorithm (GCRA, a token bucket kept
  as one timestamp) that schedules rather than drops. Within the burst an event may run at once;
  past it, each event gets the next free slot of the tenant's rate, so a tenant's events stay in
  order and run at its tier's rate; an event whose slot is more than `maxDelay` away is refused
  (and takes no slot), so a flood cannot build an unbounded backlog.

  Time is Redis' clock (TIME), the same for every producer.

  Input:
    KEYS[1]   string: the tenant's theoretical arrival time (ms)
    KEYS[2]   string: requests attempted in the current second (a fixed window)
    KEYS[3]   string: set while the tenant's throttling has been reported (one report a minute)

    ARGV[1]   interval between events at the tenant's rate (ms, may be fractional)
    ARGV[2]   burst: events that may run at once after a quiet spell (≥ 1)
    ARGV[3]   the longest delay an event may be given (ms)
    ARGV[4]   how many events the caller has, in order
    ARGV[5]   how long a report lasts (ms)

  Output:
    {report, attempts, retryAfter, delay1, delay2, ...}
      one delay (ms from now) per admitted event, the first ones in order; the rest are refused
      retryAfter   ms until the first refused event would have been admitted (0 if none was)
      attempts     requests attempted in the current second, these included
      report       1 when the tenant was throttled (delayed or refused) and not reported this minute
]]
local rcall = redis.call

local t = rcall("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local tolerance = (tonumber(ARGV[2]) - 1) * interval
local maxDelay = tonumber(ARGV[3])
local count = tonumber(ARGV[4])

local tat = tonumber(rcall("GET", KEYS[1]) or "0")
if tat < now then tat = now end

local reply = {0, 0, 0}
local throttled = false
for _ = 1, count do
  local delay = tat - tolerance - now
  if delay < 0 then delay = 0 end
  if delay > maxDelay then
    reply[3] = math.ceil(delay - maxDelay)
    throttled = true
    break
  end
  if delay > 0 then throttled = true end
  reply[#reply + 1] = math.ceil(delay)
  tat = tat + interval
end
if #reply > 3 then
  -- Kept until the slots it holds are past, then it is a quiet tenant again.
  rcall("SET", KEYS[1], tostring(tat), "PX", math.ceil(tat - now) + 1000)
end

local attempts = rcall("INCRBY", KEYS[2], count)
if attempts == count then rcall("PEXPIRE", KEYS[2], 1000) end
reply[2] = attempts

if throttled and rcall("SET", KEYS[3], "1", "NX", "PX", tonumber(ARGV[5])) then
  reply[1] = 1
end
return reply
