import { describe, it, expect } from 'vitest';
import { entryLines } from '../src/routing/locate-cases.js';

describe('finding the line of each row of a case table', () => {
  it('skips comments, short and long strings, and nested tables', () => {
    const src = [
      'local x = { 1, 2 }',                              // 1: a table before the anchor
      '-- routes { "not", "this" }',                     // 2: a comment naming the anchor
      'routes {',                                        // 3
      '  { "a.example.com", "/", "a" }, -- a { brace',   // 4
      '  --[==[ { "commented", "/", "out" }, ]==]',      // 5
      '  { "b.example.com", [[/long',                    // 6
      'string}]], { backend = "x", headers = { y = "}" } } };', // 7
      '',
      '  { host = "c.example.com",',                     // 9
      '    expect = "c" },',
      '  "}", { "d.example.com", "/", "d" }',            // 11: two rows on one line
      '}',
      'routes { { "e.example.com", "/", "e" } }',        // 13: the next block
    ].join('\n');
    expect(entryLines(src, 1, 'routes')).toEqual([4, 6, 9, 11, 11]);
    expect(entryLines(src, 12, 'routes')).toEqual([13]);
  });

  it('finds the rows of a tests = { ... } assignment', () => {
    expect(entryLines('listen = 1\ntests = {\n  { "a", "/", "x" },\n\n  { "b", "/", "y" },\n}\n', 1, 'tests')).toEqual([3, 5]);
  });
});
