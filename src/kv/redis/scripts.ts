import { createHash } from 'node:crypto';

/** A Lua script run atomically by Redis; sent as EVALSHA, with EVAL when the server lacks it. */
export interface Script {
  source: string;
  sha: string;
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/** Whether a decimal string lies outside ±(2^53 − 1); Lua numbers are doubles, so compare digits. */
const UNSAFE = `
local function unsafe(s)
  local digits = s:gsub('^-', '')
  return #digits > 16 or (#digits == 16 and digits > '9007199254740991')
end`;

/**
 * INCRBY or HINCRBY (ARGV[2] = field for a hash) that answers with the exact decimal string (INCRBY's
 * integer reply would become a double in Lua). With ARGV[3] = '1' the caller works in JS numbers: a
 * result beyond 2^53 is undone and refused, so no lossy value is ever handed back.
 */
export const COUNTER = script(`${UNSAFE}
local key, delta, field, safe = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local existed
if field == '' then
  existed = redis.call('EXISTS', key)
  redis.call('INCRBY', key, delta)
else
  existed = redis.call('HEXISTS', key, field)
  redis.call('HINCRBY', key, field, delta)
end
local value = field == '' and redis.call('GET', key) or redis.call('HGET', key, field)
if safe == '1' and unsafe(value) then
  if existed == 0 then
    if field == '' then redis.call('DEL', key) else redis.call('HDEL', key, field) end
  elseif field == '' then
    redis.call('DECRBY', key, delta)
  else
    redis.call('HINCRBY', key, field, delta:sub(1, 1) == '-' and delta:sub(2) or ('-' .. delta))
  end
  return redis.error_reply('UNSAFE ' .. value)
end
return value`);

/** Type checks every list+meta script starts with, so an error changes nothing. */
const LIST_META_TYPES = `
local list, meta = KEYS[1], KEYS[2]
local listType = redis.call('TYPE', list).ok
if listType ~= 'none' and listType ~= 'list' then return redis.error_reply('WRONGTYPE Operation against a key holding the wrong kind of value') end
local metaType = redis.call('TYPE', meta).ok
if metaType ~= 'none' and metaType ~= 'hash' then return redis.error_reply('WRONGTYPE Operation against a key holding the wrong kind of value') end
local tokens = redis.call('HGET', meta, 'token_count')
if tokens and not string.match(tokens, '^-?%d+$') then return redis.error_reply('ERR hash value is not an integer') end
local function setFields(from, count)
  for i = 0, count - 1 do redis.call('HSET', meta, ARGV[from + 2 * i], ARGV[from + 2 * i + 1]) end
end`;

/**
 * KEYS: list, meta. ARGV: maxLen, tokenDelta, ttlMs, ttlRefreshBelowMs, tokensField, nFields, field/value
 * pairs, items…
 */
export const APPEND_AND_TRIM = script(`${LIST_META_TYPES}
local maxLen, ttl, below, tokensField, nFields = tonumber(ARGV[1]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6])
local firstItem = 7 + 2 * nFields
local length = redis.call('LLEN', list)
if #ARGV >= firstItem then length = redis.call('RPUSH', list, unpack(ARGV, firstItem)) end
local dropped = 0
if length > maxLen then
  if tokensField ~= '' then
    for _, item in ipairs(redis.call('LRANGE', list, 0, length - maxLen - 1)) do
      local ok, decoded = pcall(cjson.decode, item)
      if ok and type(decoded) == 'table' and type(decoded[tokensField]) == 'number' then
        local n = decoded[tokensField]
        dropped = dropped + (n >= 0 and math.floor(n) or math.ceil(n))
      end
    end
  end
  redis.call('LTRIM', list, -maxLen, -1)
  length = maxLen
end
redis.call('HINCRBY', meta, 'token_count', ARGV[2])
if dropped ~= 0 then redis.call('HINCRBY', meta, 'token_count', string.format('%d', -dropped)) end
redis.call('HSET', meta, 'message_count', length)
setFields(7, nFields)
if ttl > 0 then
  local pttl = redis.call('PTTL', list)
  if below <= 0 or pttl < 0 or pttl < below then
    if length > 0 then redis.call('PEXPIRE', list, ttl) end
    redis.call('PEXPIRE', meta, ttl)
  end
end
return length`);

/** KEYS: list, meta. ARGV: tokenCount, ttlMs (0: keep the list's), nFields, field/value pairs, items… */
export const REPLACE_LIST = script(`${LIST_META_TYPES}
local ttl, nFields = tonumber(ARGV[2]), tonumber(ARGV[3])
local firstItem = 4 + 2 * nFields
local keep = redis.call('PTTL', list)
redis.call('DEL', list)
local length = 0
if #ARGV >= firstItem then length = redis.call('RPUSH', list, unpack(ARGV, firstItem)) end
redis.call('HSET', meta, 'token_count', ARGV[1], 'message_count', length)
setFields(4, nFields)
if ttl > 0 then
  if length > 0 then redis.call('PEXPIRE', list, ttl) end
  redis.call('PEXPIRE', meta, ttl)
elseif keep > 0 and length > 0 then
  redis.call('PEXPIRE', list, keep)
end
return length`);

/** KEYS: list, meta. ARGV: expectFirst, removeCount, tokenDelta, nFields, field/value pairs, items… Nil when the head changed. */
export const SPLICE_HEAD = script(`${LIST_META_TYPES}
if redis.call('LINDEX', list, 0) ~= ARGV[1] then return false end
local remove, nFields = tonumber(ARGV[2]), tonumber(ARGV[4])
local firstItem = 5 + 2 * nFields
local pttl = redis.call('PTTL', list)
local length = redis.call('LLEN', list)
if remove > length then remove = length end
if remove > 0 then redis.call('LTRIM', list, remove, -1) end
for i = #ARGV, firstItem, -1 do redis.call('LPUSH', list, ARGV[i]) end
length = redis.call('LLEN', list)
if length > 0 and pttl > 0 and redis.call('PTTL', list) < 0 then redis.call('PEXPIRE', list, pttl) end
redis.call('HINCRBY', meta, 'token_count', ARGV[3])
redis.call('HSET', meta, 'message_count', length)
setFields(5, nFields)
return length`);

/** KEYS: lock, fence. ARGV: token, ttlMs. Returns the new fencing token as a string, or nil when held. */
export const LOCK_TAKE = script(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('INCR', KEYS[2])
  return redis.call('GET', KEYS[2])
end
return false`);

/** KEYS: lock. ARGV: token, ttlMs. */
export const LOCK_EXTEND = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`);

/** KEYS: lock. ARGV: token. */
export const LOCK_GIVE = script(`
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 'released'
end
if holder then return 'not-owned' end
return 'not-held'`);

/** Whether (consumer, delivery count) still holds a stream entry in the group's pending list. */
const HOLDS = `
local function holds(stream, group, id, consumer, count)
  local pending = redis.call('XPENDING', stream, group, id, id, 1)
  return #pending > 0 and pending[1][2] == consumer and tonumber(pending[1][4]) == tonumber(count)
end
local function fields(stream, id)
  local entry = redis.call('XRANGE', stream, id, id)[1]
  local rk, body
  for i = 1, #entry[2], 2 do
    if entry[2][i] == 'rk' then rk = entry[2][i + 1] elseif entry[2][i] == 'body' then body = entry[2][i + 1] end
  end
  return rk, body
end`;

/** KEYS: stream, wake channel (pairs, one per queue). ARGV: routing key, body. */
export const BROKER_PUBLISH = script(`
for i = 1, #KEYS, 2 do
  redis.call('XADD', KEYS[i], '*', 'rk', ARGV[1], 'body', ARGV[2], 'a', '0')
  redis.call('PUBLISH', KEYS[i + 1], '1')
end
return #KEYS / 2`);

/** Ack. KEYS: stream. ARGV: group, id, consumer, deliveries. */
export const BROKER_SETTLE = script(`${HOLDS}
if not holds(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4]) then return 0 end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return 1`);

/** Nack with requeue: re-added at the tail carrying its attempts. KEYS: stream, wake. ARGV: group, id, consumer, deliveries, attempts. */
export const BROKER_REQUEUE = script(`${HOLDS}
if not holds(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4]) then return 0 end
local rk, body = fields(KEYS[1], ARGV[2])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('XADD', KEYS[1], '*', 'rk', rk, 'body', body, 'a', ARGV[5])
redis.call('PUBLISH', KEYS[2], '1')
return 1`);

/**
 * Out of the queue for good. KEYS: stream, dead-letter stream or dropped counter, dead-letter wake
 * channel. ARGV: group, id, consumer, deliveries, 'queue' | 'drop'.
 */
export const BROKER_DEAD_LETTER = script(`${HOLDS}
if not holds(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4]) then return 0 end
local rk, body = fields(KEYS[1], ARGV[2])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
if ARGV[5] == 'queue' then
  redis.call('XADD', KEYS[2], '*', 'rk', rk, 'body', body, 'a', '0')
  redis.call('PUBLISH', KEYS[3], '1')
else
  redis.call('INCR', KEYS[2])
end
return 1`);
