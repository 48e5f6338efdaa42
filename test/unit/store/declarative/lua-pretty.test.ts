/**
 * Kong builds public error messages with Penlight's pretty printer; clients
 * and tests match those strings, so the rendering must be the same.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { luaPretty, toCjson } from '../../../../src/store/declarative/lua-pretty.ts';

describe('Penlight-compatible rendering of error tables', () => {
  it('renders unique-violation keys like Kong (`{name="x"}`, nested foreign keys, null)', () => {
    assert.equal(luaPretty({ name: 'x' }), '{name="x"}');
    assert.equal(
      luaPretty({ service: { id: 'abc' }, name: 'cors', route: null, consumer: null }),
      '{consumer=null,name="cors",route=null,service={id="abc"}}',
    );
  });

  it('writes arrays positionally, sparse positions as [n]=, odd keys quoted', () => {
    assert.equal(luaPretty({ services: { 1: { host: 'required field missing' } } }), '{services={{host="required field missing"}}}');
    assert.equal(luaPretty({ routes: { 2: 'a', 3: 'b' } }), '{routes={[2]="a",[3]="b"}}');
    assert.equal(luaPretty({ '@entity': ['x'], path: 'y' }), '{["@entity"]={"x"},path="y"}');
    assert.equal(luaPretty({ 'a-b': 1, end: true }), '{["a-b"]=1,["end"]=true}');
  });

  it("quotes strings as Lua's %q (quotes and backslashes escaped)", () => {
    assert.equal(luaPretty('say "hi" \\o/'), '"say \\"hi\\" \\\\o/"');
  });

  it('encodes error tables as cjson does: dense arrays, holes as null, sparse ones as objects', () => {
    assert.deepEqual(toCjson({ 1: 'a', 2: 'b' }), ['a', 'b']);
    assert.deepEqual(toCjson({ 2: 'b' }), [null, 'b']);
    assert.deepEqual(toCjson({ 50: 'x' }), { 50: 'x' });
    assert.deepEqual(toCjson({ bar: 'x' }), { bar: 'x' });
  });
});
