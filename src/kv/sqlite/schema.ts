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
];
