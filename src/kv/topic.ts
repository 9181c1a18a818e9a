/**
 * AMQP topic matching: routing and binding keys are dot-separated words; in a binding `*` matches
 * exactly one word and `#` matches zero or more.
 */
export function topicMatch(binding: string, routingKey: string): boolean {
  const pattern = binding.split('.');
  const words = routingKey.split('.');
  // memo[i][j]: pattern[i..] matches words[j..]
  const memo = new Map<number, boolean>();
  const match = (i: number, j: number): boolean => {
    const id = i * (words.length + 1) + j;
    const known = memo.get(id);
    if (known !== undefined) return known;
    let result: boolean;
    if (i === pattern.length) result = j === words.length;
    else if (pattern[i] === '#') result = match(i + 1, j) || (j < words.length && match(i, j + 1));
    else result = j < words.length && (pattern[i] === '*' || pattern[i] === words[j]) && match(i + 1, j + 1);
    memo.set(id, result);
    return result;
  };
  return match(0, 0);
}

export function routes(type: 'fanout' | 'direct' | 'topic', bindingKey: string, routingKey: string): boolean {
  if (type === 'fanout') return true;
  if (type === 'direct') return bindingKey === routingKey;
  return topicMatch(bindingKey, routingKey);
}
