import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isValidSlug, normalizeUrl, slugify } from '../src/util/slug.js';

test('slugify makes readable slugs', () => {
  assert.equal(slugify('  Hello, World!  '), 'hello-world');
  assert.equal(slugify('a'.repeat(40), 8), 'aaaaaaaa');
});

test('isValidSlug rejects upper case and leading dashes', () => {
  assert.ok(isValidSlug('docs-2'));
  assert.ok(!isValidSlug('-docs'));
  assert.ok(!isValidSlug('Docs'));
});

test('normalizeUrl drops fragments and refuses other protocols', () => {
  assert.equal(normalizeUrl('https://example.com/a#top'), 'https://example.com/a');
  assert.throws(() => normalizeUrl('ftp://example.com'));
});
