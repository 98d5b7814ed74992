import { describe, expect, it } from 'vitest';
import { connectAddressOf, formatListenAddress, parseListenAddress } from '../../src/report/listen-address.js';

describe('parseListenAddress', () => {
  it.each([
    ['127.0.0.1:9464', { host: '127.0.0.1', port: 9464 }],
    ['0.0.0.0:0', { host: '0.0.0.0', port: 0 }],
    ['[::1]:9464', { host: '::1', port: 9464 }],
    ['[::]:80', { host: '::', port: 80 }],
  ])('reads %s', (text, address) => {
    expect(parseListenAddress(text)).toEqual(address);
  });

  it.each([
    ['localhost:9464', /DNS lookup/],
    ['metamcp:9464', /DNS lookup/],
    ['127.0.0.1', /numeric address and port/],
    ['127.0.0.1:70000', /0 to 65535/],
    ['::1:9464', /numeric address and port/],
    ['[127.0.0.1]:80', /numeric|brackets|IPv6/],
    ['999.1.1.1:80', /DNS lookup/],
  ])('refuses %s', (text, message) => {
    const parsed = parseListenAddress(text);
    expect(typeof parsed).toBe('string');
    expect(parsed).toMatch(message);
  });
});

describe('connectAddressOf', () => {
  it('reaches a wildcard listener on loopback, and any other where it is', () => {
    expect(connectAddressOf({ host: '0.0.0.0', port: 1 })).toEqual({ host: '127.0.0.1', port: 1 });
    expect(connectAddressOf({ host: '::', port: 1 })).toEqual({ host: '::1', port: 1 });
    expect(connectAddressOf({ host: '10.0.0.5', port: 1 })).toEqual({ host: '10.0.0.5', port: 1 });
  });
});

describe('formatListenAddress', () => {
  it('puts IPv6 in brackets', () => {
    expect(formatListenAddress({ host: '::1', port: 9 })).toBe('[::1]:9');
    expect(formatListenAddress({ host: '127.0.0.1', port: 9 })).toBe('127.0.0.1:9');
  });
});
