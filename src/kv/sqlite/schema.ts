/**
 * Versioned schema (PRAGMA user_version). Values are `ANY` in STRICT tables so text stays text
 * ("05" is not turned into 5). Small-row tables are WITHOUT ROWID; list items, which can be kilobytes
 * (conversation messages), keep a rowid.
 */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE kv_keys (
     key TEXT PRIMARY KEY,
     type TEXT NOT NULL CHECK (type IN ('string', 'hash', 'list')),
     value ANY,
     expires_at INTEGER
   ) STRICT;
   CREATE INDEX kv_keys_expires_at ON kv_keys(expires_at) WHERE expires_at IS NOT NULL;
   CREATE TABLE kv_hash (
     key TEXT NOT NULL,
     field TEXT NOT NULL,
     value ANY NOT NULL,
     PRIMARY KEY (key, field)
   ) STRICT, WITHOUT ROWID;
   CREATE TABLE kv_list (
     key TEXT NOT NULL,
     seq INTEGER NOT NULL,
     value ANY NOT NULL,
     PRIMARY KEY (key, seq)
   ) STRICT;
   CREATE TABLE kv_locks (
     resource TEXT PRIMARY KEY,
     token TEXT,
     fence INTEGER NOT NULL,
     expires_at INTEGER
   ) STRICT, WITHOUT ROWID;
   CREATE TABLE kv_messages (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     channel TEXT NOT NULL,
     payload TEXT NOT NULL,
     created_at INTEGER NOT NULL
   ) STRICT;
   CREATE TABLE kv_subscribers (
     id TEXT PRIMARY KEY,
     pid INTEGER NOT NULL,
     kind TEXT NOT NULL CHECK (kind IN ('channel', 'pattern')),
     target TEXT NOT NULL,
     last_id INTEGER NOT NULL,
     heartbeat_at INTEGER NOT NULL
   ) STRICT, WITHOUT ROWID;`,
  `CREATE TABLE kv_exchanges (
     name TEXT PRIMARY KEY,
     type TEXT NOT NULL CHECK (type IN ('fanout', 'direct', 'topic'))
   ) STRICT, WITHOUT ROWID;
   CREATE TABLE kv_queues (
     name TEXT PRIMARY KEY,
     max_attempts INTEGER NOT NULL,
     dead_letter TEXT,
     visibility_ms INTEGER NOT NULL,
     dropped INTEGER NOT NULL DEFAULT 0
   ) STRICT, WITHOUT ROWID;
   CREATE TABLE kv_bindings (
     exchange TEXT NOT NULL,
     queue TEXT NOT NULL,
     binding_key TEXT NOT NULL,
     PRIMARY KEY (exchange, queue, binding_key)
   ) STRICT, WITHOUT ROWID;
   CREATE TABLE kv_queue_messages (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     queue TEXT NOT NULL,
     routing_key TEXT NOT NULL,
     body TEXT NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     visible_at INTEGER NOT NULL,
     lease TEXT
   ) STRICT;
   CREATE INDEX kv_queue_messages_ready ON kv_queue_messages(queue, visible_at, id);`,
  // The sweep finds keys by sweep_at, a time at or before their expiry, instead of by the expiry itself:
  // refreshing a TTL to a later time (every append to a conversation, every SET … PX of a cached key)
  // then writes only the key's row, not an index entry too — one WAL page less per commit. Only an
  // expiry set for the first time, or moved earlier than sweep_at, moves sweep_at (the triggers); a key
  // the sweep finds at sweep_at but still live gets its sweep_at moved to its expiry.
  `ALTER TABLE kv_keys ADD COLUMN sweep_at INTEGER;
   UPDATE kv_keys SET sweep_at = expires_at WHERE expires_at IS NOT NULL;
   DROP INDEX kv_keys_expires_at;
   CREATE INDEX kv_keys_sweep_at ON kv_keys(sweep_at) WHERE sweep_at IS NOT NULL;
   CREATE TRIGGER kv_keys_sweep_new AFTER INSERT ON kv_keys WHEN NEW.expires_at IS NOT NULL
   BEGIN
     UPDATE kv_keys SET sweep_at = NEW.expires_at WHERE key = NEW.key;
   END;
   CREATE TRIGGER kv_keys_sweep_earlier AFTER UPDATE OF expires_at ON kv_keys
   WHEN NEW.expires_at IS NOT NULL AND (OLD.sweep_at IS NULL OR NEW.expires_at < OLD.sweep_at)
   BEGIN
     UPDATE kv_keys SET sweep_at = NEW.expires_at WHERE key = NEW.key;
   END;`,
];
