--[[
  Commits the effects of one message (or of a flush) on one partition, atomically: the new states
  of the entities it changed, the entries they appended to their journals (history kept beside
  the state, see journal.ts), the keyed records they wrote (a hash per entity, see
  entity-records.ts), each one's earliest timer deadline in the partition's timer index
  (which wakes entities at rest, see timer-wake.ts), the record that the message was handled, and
  the messages it sent (appended to the partition's outbox, relayed into their queues afterwards).

  The node sends BullMQ's completion of the job right behind this script, on the same connection,
  without waiting for the answer. So a commit that does not happen (conflict, lost lease) deletes
  the job's lock: the completion then fails ("Missing lock") and the job returns to the head of its
  queue through BullMQ's stalled-job check, instead of completing with its effects lost.

  Input:
    KEYS[1]   lease key of the partition (fencing: only its holder may commit)
    KEYS[2]   outbox list of the partition
    KEYS[3]   handled set of the message's target entity (any key when ARGV[2] is '')
    KEYS[4]   the BullMQ lock of the job being completed (any key when ARGV[3] is '')
    KEYS[5 .. 4+n]  state hash of each changed entity, in the order of the entries below
    KEYS[5+n]       the partition's copy of the dataset sentinel `{id, seq, halted?}` (see
                    dataset-epoch.ts)

  Every key is in the partition's hash slot (`{p.<partition>}`, see redis-keys.ts): one slot, so the
  script runs on Redis Cluster.
    KEYS[6+n .. 5+2n]  journal list of each changed entity, in the same order
    KEYS[6+2n]      the partition's timer index: a sorted set, entity → its earliest timer's
                    deadline (runtime-clock ms), which the partition's owner wakes it at
    KEYS[7+2n .. 6+3n]  records hash of each changed entity, in the same order

    ARGV[1]   node name: the lease holder this commit expects
    ARGV[2]   message id, or '' for a flush (no message)
    ARGV[3]   the job's lock token, or '' when no job completes behind this commit
    ARGV[4]   how many handled ids to keep per entity
    ARGV[5]   how many entries at the head of the outbox were relayed and may be dropped
    ARGV[6]   the message's score in the handled set: the target's version after this commit
              (increasing per entity; the set is trimmed when it is a multiple of 32)
    ARGV[7]   n, the number of entities
    ARGV[8]   the dataset id this node opened, or '' for an unguarded commit (no check, no count)
    ARGV[9]   the highest commit sequence this node has seen
    ARGV[10 .. 9+7n]  per entity, seven: expected version; the new state JSON ('' deletes it,
                      '=' keeps the stored one: the writer found it unchanged, so it is only
                      checked at its version, neither rewritten nor bumped, and appends nothing);
                      the length its journal must have after this commit ('': not checked);
                      k, how many journal entries it appends; its member in the timer index
                      ('': its entry is left as it is, the writer knowing it has no timer before
                      or after); its earliest timer's deadline ('': no timer, the member is removed);
                      and r, how many records it writes
    ARGV[10+7n ..]    the journal entries (JSON) of entity 1 (k1 of them), then of entity 2, …;
                      then the records of entity 1 (r1 pairs: field, JSON value), of entity 2, …;
                      then the outbox entries (JSON), in send order

  The state hash holds `v` (version), `d` (state JSON) and `j`, `<version>:<journal length>`
  written with the state: one HMGET reads version and length. The version in `j` tells it from a
  `j` left behind by a write that did not update it (older code, which writes `v` and `d` only,
  during a rolling upgrade): the journal's LLEN is asked then, and when there is no `j` (a state
  older code wrote, an entity with no state).

  Output:
    {0, v1, .., vn, seq}   committed; the entities' new versions (0 for a deleted one; the
                           expected one for a kept one), and the
                           dataset's commit sequence after this commit (0 when unguarded)
    {1}                    duplicate: the message was handled before; nothing written
    {2, i, version}        conflict: entity i (1-based) is at `version`, not the one expected
    {5, i, length}         entity i's journal has `length` entries, so with its k it would not
                           end where its state says: state and history would drift apart; nothing
                           written
    {6, i, type}           entity i's records key holds a `type`, not a hash: nothing written
                           (checked before any write: a script is not rolled back on an error)
    {3, holder}            lost: the lease is held by `holder` ('' when nobody), not by ARGV[1]
    {4, id, seq, halted}   the dataset went backwards: its sentinel has another id (or none), a
                           sequence below ARGV[9], or was halted by a node (`halted`, else '');
                           nothing written. Checked first: the rest of a rolled-back dataset
                           (leases, versions, handled ids) cannot be trusted.
]]
local rcall = redis.call

-- Not committing: the job must not complete either (see above).
local function refuse(result)
  if ARGV[3] ~= "" and rcall("GET", KEYS[4]) == ARGV[3] then
    rcall("DEL", KEYS[4])
  end
  return result
end

local n = tonumber(ARGV[7])

-- The dataset guard: one HMGET, and one HINCRBY when the commit happens.
local epochKey = KEYS[5 + n]
local guarded = ARGV[8] ~= ""
if guarded then
  local epoch = rcall("HMGET", epochKey, "id", "seq", "halted")
  local seq = tonumber(epoch[2]) or 0
  if epoch[3] or epoch[1] ~= ARGV[8] or seq < tonumber(ARGV[9]) then
    return refuse({4, epoch[1] or "", seq, epoch[3] or ""})
  end
end

local holder = rcall("GET", KEYS[1])
if holder ~= ARGV[1] then
  return refuse({3, holder or ""})
end

-- Recorded as handled at once (NX: a message handled before is a duplicate), undone on a conflict.
local messageId = ARGV[2]
local score = tonumber(ARGV[6])
if messageId ~= "" and rcall("ZADD", KEYS[3], "NX", score, messageId) == 0 then
  return {1}
end

local function unmark()
  if messageId ~= "" then
    rcall("ZREM", KEYS[3], messageId)
  end
end

for i = 1, n do
  local expected = tonumber(ARGV[3 + 7 * i])
  local stored = rcall("HMGET", KEYS[4 + i], "v", "j")
  local current = tonumber(stored[1] or "0")
  if current ~= expected then
    unmark()
    return refuse({2, i, current})
  end
  local journalAfter = ARGV[5 + 7 * i]
  -- A kept state appends nothing (checked all the same if it came with entries): its journal
  -- stays where the last commit left it.
  if journalAfter ~= "" and (ARGV[4 + 7 * i] ~= "=" or ARGV[6 + 7 * i] ~= "0") then
    local at, counted = string.match(stored[2] or "", "^(%d+):(%d+)$")
    local length = tonumber(at) == current and tonumber(counted) or rcall("LLEN", KEYS[5 + n + i])
    if length + tonumber(ARGV[6 + 7 * i]) ~= tonumber(journalAfter) then
      unmark()
      return refuse({5, i, length})
    end
  end
  if tonumber(ARGV[9 + 7 * i]) > 0 then
    local kind = rcall("TYPE", KEYS[6 + 2 * n + i]).ok
    if kind ~= "hash" and kind ~= "none" then
      unmark()
      return refuse({6, i, kind})
    end
  end
end

local result = {0}
local entry = 10 + 7 * n
local journalled = 0
for i = 1, n do
  journalled = journalled + tonumber(ARGV[6 + 7 * i])
end
-- The records follow every entity's journal entries.
local record = entry + journalled
-- The timer index's changes, gathered and sent as one ZADD and one ZREM (a command each costs
-- Redis more than a member does); the last change of a member wins, as if sent in order.
local timerChange = {}
local timerMembers = {}
for i = 1, n do
  local key = KEYS[4 + i]
  local data = ARGV[4 + 7 * i]
  if data == "" then
    rcall("DEL", key)
    result[i + 1] = 0
  elseif data == "=" then
    result[i + 1] = tonumber(ARGV[3 + 7 * i])
  else
    local version = tonumber(ARGV[3 + 7 * i]) + 1
    rcall("HSET", key, "v", version, "d", data, "j", version .. ":" .. ARGV[5 + 7 * i])
    result[i + 1] = version
  end
  -- The timer index changes with the state, in this script: the two never disagree.
  local deadline = ARGV[8 + 7 * i]
  local member = ARGV[7 + 7 * i]
  if member ~= "" then
    if timerChange[member] == nil then
      timerMembers[#timerMembers + 1] = member
    end
    if data == "" or deadline == "" then
      timerChange[member] = false
    else
      timerChange[member] = deadline
    end
  end
  -- The entity's journal entries, in slices (unpack has a stack limit: a migration moves 1,000).
  local last = entry + tonumber(ARGV[6 + 7 * i]) - 1
  for j = entry, last, 1000 do
    rcall("RPUSH", KEYS[5 + n + i], unpack(ARGV, j, math.min(j + 999, last)))
  end
  entry = last + 1
  -- Its records (field, value pairs), in slices of 500 pairs.
  local lastRecord = record + 2 * tonumber(ARGV[9 + 7 * i]) - 1
  for j = record, lastRecord, 1000 do
    rcall("HSET", KEYS[6 + 2 * n + i], unpack(ARGV, j, math.min(j + 999, lastRecord)))
  end
  record = lastRecord + 1
end
entry = record

local added, removed = {}, {}
for _, member in ipairs(timerMembers) do
  local deadline = timerChange[member]
  if deadline then
    added[#added + 1] = deadline
    added[#added + 1] = member
  else
    removed[#removed + 1] = member
  end
end
-- In slices, as the entries below: unpack has a stack limit, and a flush may commit many entities.
for i = 1, #added, 1000 do
  rcall("ZADD", KEYS[6 + 2 * n], unpack(added, i, math.min(i + 999, #added)))
end
for i = 1, #removed, 1000 do
  rcall("ZREM", KEYS[6 + 2 * n], unpack(removed, i, math.min(i + 999, #removed)))
end

local relayed = tonumber(ARGV[5])
if relayed > 0 then
  rcall("LTRIM", KEYS[2], relayed, -1)
end
local first = entry
if #ARGV >= first then
  -- unpack has a stack limit; push in slices so a message that sends thousands still commits.
  for i = first, #ARGV, 1000 do
    rcall("RPUSH", KEYS[2], unpack(ARGV, i, math.min(i + 999, #ARGV)))
  end
end

-- Whether to trim the handled set after this message: when its score is a multiple of 32, or for
-- about one message id in 32 (by a hash of the id, mixed so that sequential ids spread too). The
-- score is the target's version after the commit, which a message that leaves its target as it
-- was (kept, or not stepped) does not move: by the score alone, a target that stays at one
-- version would be trimmed at every message, or at none and grow without bound.
local function trimDue()
  if score % 32 == 0 then
    return true
  end
  local h = 0
  for i = 1, #messageId do
    h = (h * 257 + string.byte(messageId, i)) % 1000003
  end
  -- Knuth's multiplicative hash: the top 5 of 32 bits (exact in doubles: below 2^53).
  return math.floor(((h * 2654435761) % 4294967296) / 134217728) == 0
end

if messageId ~= "" and trimDue() then
  -- All but the most recent `keep` (nothing while the set is smaller); every 32nd version and
  -- about every 32nd message id are enough: the set exceeds its bound by about 32 on average.
  rcall("ZREMRANGEBYRANK", KEYS[3], 0, -tonumber(ARGV[4]) - 1)
end

result[n + 2] = guarded and rcall("HINCRBY", epochKey, "seq", 1) or 0
return result
