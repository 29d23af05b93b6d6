/**
 * The Lua scripts of the versioned read (design invariant 1). Redis runs a script atomically, so everything
 * one call reads (the epoch marker, the position, every key's type, value and TTL) is one instant of the data.
 * https://redis.io/docs/latest/develop/interact/programmability/eval-intro/
 *
 * Both scripts reply [marker, replid, position, server ms, ...one reply per key]; the TypeScript side judges the
 * marker (epoch.ts) and composes (epoch, position) into the version. Numbers are formatted with %.0f: Lua's
 * default tostring would print 1.764e+15 and lose digits; Lua numbers are doubles, exact up to 2^53. A
 * replication offset is returned as INFO prints it, a string, so it is never a Lua number at all.
 */

/**
 * One key's part of the reply: {type} for a missing key, else {type, pttl, value, oversized size?}. A value
 * over the guard (STRLEN, or MEMORY USAGE's estimate for collections; 0 = no guard) is not read at all, so a
 * huge key never lands in memory.
 */
const READ_KEY = `
local function readKey(key, guard)
  local t = redis.call('TYPE', key)['ok']
  if t == 'none' then return {t} end
  local pttl = redis.call('PTTL', key)
  local size = 0
  if guard > 0 then
    if t == 'string' then size = redis.call('STRLEN', key) else size = redis.call('MEMORY', 'USAGE', key) or 0 end
  end
  if size > guard then return {t, pttl, '', size}
  elseif t == 'string' then return {t, pttl, redis.call('GET', key)}
  elseif t == 'hash' then return {t, pttl, redis.call('HGETALL', key)}
  elseif t == 'list' then return {t, pttl, redis.call('LRANGE', key, 0, -1)}
  elseif t == 'set' then return {t, pttl, redis.call('SMEMBERS', key)}
  elseif t == 'zset' then return {t, pttl, redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')}
  end
  return {t, pttl, ''}
end
`;

/**
 * On the primary. KEYS = marker, counter, keys...; ARGV = bump ('1' takes versions), guard bytes. The
 * primary's replication ID comes back too: a new one means a failover (Sentinel) or a restart, and the epoch
 * must be raised before the clock of another host versions anything.
 * The position is a hybrid logical clock per database: base = max(last + 1, server time in µs); the i-th key
 * gets base + i and the counter keeps base + n - 1, so positions are unique and grow in read order, within a
 * µs, across a clock step backwards and across concurrent capture instances. One counter write per call
 * (a write per key cost Redis a SET and a notification per read). A missing counter makes the call version
 * nothing (position ''): the epoch raise creates it, so a counter never restarts inside an epoch.
 * Scripts may call TIME before writing since Redis 5 (effects replication).
 */
export const PRIMARY_READ = `${READ_KEY}
local n = #KEYS - 2
local now = redis.call('TIME')
local nowUs = tonumber(now[1]) * 1000000 + tonumber(now[2])
local position = ''
if ARGV[1] == '1' then
  local last = redis.call('GET', KEYS[2])
  if last then
    local base = tonumber(last) + 1
    if nowUs > base then base = nowUs end
    redis.call('SET', KEYS[2], string.format('%.0f', base + n - 1))
    position = string.format('%.0f', base)
  end
end
local info = redis.call('INFO', 'replication')
local out = {
  redis.call('GET', KEYS[1]) or '',
  string.match(info, 'master_replid:(%x+)') or '',
  position,
  string.format('%.0f', math.floor(nowUs / 1000)),
}
local guard = tonumber(ARGV[2])
for i = 1, n do out[i + 4] = readKey(KEYS[i + 2], guard) end
return out
`;

/**
 * On a replica (read-only: the no-writes flag lets it run there, https://redis.io/docs/latest/develop/interact/programmability/lua-api/#script-flags).
 * KEYS = marker, keys...; ARGV = guard bytes. The position is the replica's applied replication offset, read
 * by INFO inside the script, so it is exactly the point of the primary's history the values are at. A node that
 * is a primary without a replication backlog (promoted, its replicas gone past repl-backlog-ttl) no longer
 * advances its offset: it gives no position (''), so nothing is versioned there.
 */
export const REPLICA_READ = `#!lua flags=no-writes
${READ_KEY}
local n = #KEYS - 1
local info = redis.call('INFO', 'replication')
local now = redis.call('TIME')
local position = string.match(info, 'master_repl_offset:(%d+)') or ''
if string.match(info, 'role:master') and not string.match(info, 'repl_backlog_active:1') then position = '' end
local out = {
  redis.call('GET', KEYS[1]) or '',
  string.match(info, 'master_replid:(%x+)') or '',
  position,
  string.format('%.0f', tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)),
}
local guard = tonumber(ARGV[1])
for i = 1, n do out[i + 4] = readKey(KEYS[i + 1], guard) end
return out
`;

/**
 * On the primary: raises the epoch marker to max(server time in µs, current epoch + 1, floor) and records the
 * primary's replication ID and the reading mode with it. KEYS = marker, counter; ARGV = floor, mode. In
 * primary mode it also (re)creates the position counter at the clock if it is missing, so positions of the new
 * epoch start from a counter that exists. Returns the new marker.
 */
export const RAISE_EPOCH = `
local now = redis.call('TIME')
local e = tonumber(now[1]) * 1000000 + tonumber(now[2])
local cur = redis.call('GET', KEYS[1])
if cur then
  local ce = tonumber(string.match(cur, '^(%d+):'))
  if ce and ce >= e then e = ce + 1 end
end
local floor = tonumber(ARGV[1])
if floor > e then e = floor end
local info = redis.call('INFO', 'replication')
local marker = string.format('%.0f', e) .. ':' .. ARGV[2] .. ':' .. (string.match(info, 'master_replid:(%x+)') or '')
redis.call('SET', KEYS[1], marker)
if ARGV[2] == 'primary' and not redis.call('GET', KEYS[2]) then
  redis.call('SET', KEYS[2], string.format('%.0f', tonumber(now[1]) * 1000000 + tonumber(now[2])))
end
return marker
`;
