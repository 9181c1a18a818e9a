import { useState } from 'preact/hooks';
import { api, type MemoryPage, type MemoryResource } from '../api';
import { Loaded, useLoad } from '../components';
import { href } from '../router';

const PAGE = 50;

interface KeyStats {
  keys: string[];
  key_count: number;
  results: Array<{ key?: string; message_count?: number; token_count?: number }>;
}

export function MemoriesPage() {
  const memories = useLoad(() => api<{ memories: MemoryResource[] }>('GET', '/memories'), []);
  return (
    <section>
      <h1>Memory</h1>
      <Loaded state={memories}>
        {({ memories: list }) =>
          list.length === 0 ? (
            <p class="muted">The project declares no memory.</p>
          ) : (
            <table class="grid" data-testid="memory-list">
              <thead>
                <tr>
                  <th>Memory</th>
                  <th>Type</th>
                  <th>Key template</th>
                  <th>Limits</th>
                  <th>Description</th>
                </tr>
              </thead>
              <tbody>
                {list.map((m) => (
                  <tr key={m.id}>
                    <td>
                      <a href={href('memory', m.id)}>{m.id}</a>
                    </td>
                    <td>{m.type}</td>
                    <td>
                      <code>{m.key ?? '-'}</code>
                    </td>
                    <td>
                      {m.max_messages ?? '∞'} messages, {m.max_tokens ?? '∞'} tokens
                    </td>
                    <td>{m.description ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loaded>
    </section>
  );
}

function Conversation({ memory, conversation }: { memory: string; conversation: string }) {
  const [offset, setOffset] = useState(0);
  const page = useLoad(() => api<MemoryPage>('GET', `/memory/${encodeURIComponent(memory)}/read?${new URLSearchParams({ key: conversation, limit: String(PAGE), offset: String(offset) })}`), [memory, conversation, offset]);
  return (
    <div class="panel grow" data-testid="conversation">
      <h2>
        <code>{conversation}</code>
      </h2>
      <Loaded state={page}>
        {(p) => (
          <>
            <p class="muted">
              Messages {p.total_count === 0 ? 0 : p.offset + 1}–{p.offset + p.count} of {p.total_count}
            </p>
            <ol class="messages" start={p.offset + 1}>
              {p.messages.map((m, i) => (
                <li key={i} class={`message role-${m.role}`} data-role={m.role}>
                  <strong>{m.role}</strong>
                  <div>{m.content}</div>
                </li>
              ))}
            </ol>
            <div class="actions">
              <button class="secondary" disabled={p.offset === 0} onClick={() => setOffset(Math.max(0, p.offset - PAGE))}>
                Older
              </button>
              <button class="secondary" disabled={!p.has_more} onClick={() => setOffset(p.offset + PAGE)}>
                Newer
              </button>
            </div>
          </>
        )}
      </Loaded>
    </div>
  );
}

export function MemoryPageView({ id, conversation }: { id: string; conversation?: string }) {
  const [pattern, setPattern] = useState('*');
  const [asked, setAsked] = useState('*');
  const stats = useLoad(() => api<KeyStats>('GET', `/memory/${encodeURIComponent(id)}/stats?${new URLSearchParams({ key: asked })}`), [id, asked]);
  return (
    <section>
      <p class="crumbs">
        <a href={href('memory')}>Memory</a> / {id}
      </p>
      <header class="page-head">
        <h1>{id}</h1>
        <button onClick={stats.reload} disabled={stats.loading}>
          Refresh
        </button>
      </header>
      <div class="columns">
        <div class="panel">
          <form
            class="filters"
            onSubmit={(event) => {
              event.preventDefault();
              setAsked(pattern.trim() || '*');
            }}
          >
            <label>
              Keys <input name="pattern" value={pattern} onInput={(e) => setPattern((e.target as HTMLInputElement).value)} />
            </label>
            <button type="submit" class="secondary">
              Find
            </button>
          </form>
          <Loaded state={stats}>
            {(s) =>
              s.key_count === 0 ? (
                <p class="muted">No conversation matches {asked}.</p>
              ) : (
                <table class="grid" data-testid="memory-keys">
                  <thead>
                    <tr>
                      <th>Conversation</th>
                      <th>Messages</th>
                      <th>Tokens</th>
                    </tr>
                  </thead>
                  <tbody>
                    {s.keys.map((key, i) => (
                      <tr key={key} data-key={key} class={key === conversation ? 'selected' : ''}>
                        <td>
                          <a href={href('memory', id, key)}>
                            <code>{key}</code>
                          </a>
                        </td>
                        <td>{s.results[i]?.message_count ?? '-'}</td>
                        <td>{s.results[i]?.token_count ?? '-'}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )
            }
          </Loaded>
        </div>
        {conversation ? <Conversation key={conversation} memory={id} conversation={conversation} /> : <p class="muted">Choose a conversation to read its messages.</p>}
      </div>
    </section>
  );
}
