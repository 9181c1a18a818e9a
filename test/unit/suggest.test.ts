import { describe, expect, it } from 'vitest';
import { didYouMean } from '../../src/config/read.js';
import { plural } from '../../src/platform/plural.js';
import { unknownNameHint } from '../../src/cli/suggest.js';

describe('name suggestions', () => {
  it('finds the nearest known name for a typo, and nothing for a name far from all of them', () => {
    expect(didYouMean('weathr', ['greet', 'weather'])).toBe('weather');
    expect(didYouMean('GREAT', ['greet', 'weather'])).toBe('greet');
    expect(didYouMean('nope', ['greet', 'weather'])).toBeUndefined();
  });

  it('hints the nearest name and lists every known one, sorted', () => {
    expect(unknownNameHint('weathr', ['weather', 'greet'], 'workflows')).toBe('Did you mean "weather"? Workflows: greet, weather.');
    expect(unknownNameHint('nope', ['weather', 'greet'], 'workflows')).toBe('Workflows: greet, weather.');
    expect(unknownNameHint('nope', [], 'workflows')).toBe('There are no workflows.');
  });

  it('agrees in number', () => {
    expect(plural(0, 'execution')).toBe('0 executions');
    expect(plural(1, 'execution')).toBe('1 execution');
    expect(plural(2, 'execution')).toBe('2 executions');
    expect(plural(1, 'check passed', 'checks passed')).toBe('1 check passed');
  });
});
