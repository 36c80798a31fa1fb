import { createHash, createHmac, randomBytes } from 'node:crypto';

/** A signature crafted by hand, to send what a correct client never would. */
export interface CraftedSignature {
  method: string;
  url: string;
  body?: Buffer;
  sessionId: string;
  key: Buffer;
  /** Covered components, in order. */
  components?: string[];
  /** Parameters, serialised in this order; `undefined` values are left out. */
  params?: Record<string, string | number | undefined>;
  /** Write `alg` as a token instead of a string. */
  algAsToken?: boolean;
  /** Truncate or extend the HMAC to this many bytes. */
  hmacLength?: number;
  label?: string;
}

/**
 * Builds Signature-Input, Signature and Content-Digest by hand, independently of the library:
 * the signature base follows RFC 9421 §2.5 and the HMAC is computed with the given key, so a
 * refusal is about what the signature covers, never about a wrong HMAC.
 */
export function craftSignature(input: CraftedSignature): Record<string, string> {
  const url = new URL(input.url);
  const digest =
    input.body === undefined
      ? undefined
      : `sha-256=:${createHash('sha256').update(input.body).digest('base64')}:`;
  const components = input.components ?? [
    '@method',
    '@target-uri',
    ...(digest === undefined ? [] : ['content-digest']),
  ];
  const params: Record<string, string | number | undefined> = {
    created: Math.floor(Date.now() / 1000),
    nonce: randomBytes(32).toString('base64url'),
    keyid: input.sessionId,
    alg: 'hmac-sha256',
    ...input.params,
  };
  const serialisedParams = Object.entries(params)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) =>
      typeof value === 'number'
        ? `;${name}=${value}`
        : name === 'alg' && input.algAsToken
          ? `;${name}=${value}`
          : `;${name}="${value}"`,
    )
    .join('');
  const signatureParams = `(${components.map((c) => `"${c}"`).join(' ')})${serialisedParams}`;
  const values: Record<string, string> = {
    '@method': input.method.toUpperCase(),
    '@target-uri': `${url.protocol}//${url.host}${url.pathname}${url.search}`,
    'content-digest': digest ?? '',
  };
  const base = [
    ...components.map((c) => `"${c}": ${values[c]}`),
    `"@signature-params": ${signatureParams}`,
  ].join('\n');
  let hmac = createHmac('sha256', input.key).update(base).digest();
  if (input.hmacLength !== undefined) {
    hmac =
      input.hmacLength <= hmac.length
        ? hmac.subarray(0, input.hmacLength)
        : Buffer.concat([hmac, Buffer.alloc(input.hmacLength - hmac.length, 1)]);
  }
  const label = input.label ?? 'sig1';
  return {
    'signature-input': `${label}=${signatureParams}`,
    signature: `${label}=:${hmac.toString('base64')}:`,
    ...(digest === undefined ? {} : { 'content-digest': digest }),
  };
}
