/** Kong's error body negotiation (kong/tools/http.lua get_response_type / get_mime_type). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorPageTypeFor, renderError, responseTypeFor, TYPE_HTML, TYPE_JSON, TYPE_PLAIN, TYPE_XML } from '../../../src/core/error-templates.ts';
import { errorPayload } from '../../../src/core/respond.ts';

test('no Accept header, */* and unknown types get JSON', () => {
  assert.equal(responseTypeFor(undefined), TYPE_JSON);
  assert.equal(responseTypeFor('*/*'), TYPE_JSON);
  assert.equal(responseTypeFor('image/png'), TYPE_JSON);
  assert.equal(responseTypeFor('application/*'), TYPE_JSON);
  assert.equal(responseTypeFor('garbage'), TYPE_JSON);
});

test('explicit types pick their template; text/* means plain text', () => {
  assert.equal(responseTypeFor('text/html'), TYPE_HTML);
  assert.equal(responseTypeFor('application/xml'), TYPE_XML);
  assert.equal(responseTypeFor('text/plain'), TYPE_PLAIN);
  assert.equal(responseTypeFor('text/*'), TYPE_PLAIN);
  assert.equal(responseTypeFor('Application/JSON'), TYPE_JSON);
});

test('the highest q-value wins, the first of equals is kept, q=0 never wins', () => {
  assert.equal(responseTypeFor('text/html;q=0.5, application/xml;q=0.9'), TYPE_XML);
  assert.equal(responseTypeFor('text/html, application/xml'), TYPE_HTML);
  assert.equal(responseTypeFor('text/html;q=0, text/plain;q=0.1'), TYPE_PLAIN);
  assert.equal(responseTypeFor('text/html;q=0'), TYPE_JSON);
  assert.equal(responseTypeFor('text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'), TYPE_HTML);
});

test('nginx error pages fall back to Content-Type, then text/plain', () => {
  assert.equal(errorPageTypeFor(undefined, undefined), TYPE_PLAIN);
  assert.equal(errorPageTypeFor(undefined, 'application/json; charset=utf-8'), TYPE_JSON);
  assert.equal(errorPageTypeFor('text/html', 'application/json'), TYPE_HTML);
});

test('templates carry the message and the request id in Kong’s shapes', () => {
  assert.deepEqual(JSON.parse(renderError(TYPE_JSON, 'Bad request', 'abc')), { message: 'Bad request', request_id: 'abc' });
  assert.equal(renderError(TYPE_PLAIN, 'Bad request', 'abc'), 'Bad request\nrequest_id: abc\n');
  assert.match(renderError(TYPE_HTML, 'Bad request', 'abc'), /<p>Bad request\.<\/p>\n    <p>request_id: abc<\/p>/);
  assert.match(renderError(TYPE_XML, '<x>', 'abc'), /<message>&lt;x&gt;<\/message>\n  <requestid>abc<\/requestid>/);
});

test('upstream errors use the error-page rules; routing errors default to JSON; NO_SERVICE is a bare message', () => {
  assert.equal(errorPayload('UPSTREAM_TIMEOUT', 'm', 'id', undefined, undefined).type, TYPE_PLAIN);
  assert.equal(errorPayload('ROUTE_NOT_FOUND', 'm', 'id', undefined, undefined).type, TYPE_JSON);
  assert.deepEqual(JSON.parse(errorPayload('NO_SERVICE', 'no Service found with those values', 'id', 'text/html', undefined).body), { message: 'no Service found with those values' });
});
