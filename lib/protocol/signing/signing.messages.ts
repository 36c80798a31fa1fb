/**
 * Texts of signed requests: the 401 messages of signature mode, and the signer's errors.
 */
export const SigningMessages = {
  /** 401: signature mode, and the request carries no signature. */
  signatureMissing: (): string => 'Missing request signature',
  /** 401: Signature, Signature-Input or Content-Digest are not well-formed. */
  signatureMalformed: (): string => 'Malformed request signature headers',
  /** 401: the signature lacks a required component or parameter. */
  signatureIncomplete: (): string =>
    'Request signature must cover "@method", "@target-uri" (and "content-digest" with a body), with created, nonce, keyid and alg',
  /** 401 (gRPC): the call signature lacks a required component or parameter. */
  callSignatureIncomplete: (): string =>
    'Call signature must cover "@path" and "content-digest", with created, nonce, keyid and alg',
  /** 401 (gRPC): signature mode on a client-streaming call, whose messages no signature covers. */
  streamUnsignable: (): string => 'Client-streaming calls cannot be signed',
  /** 401: `alg` is not hmac-sha256. */
  signatureAlgorithm: (): string => 'Unsupported signature algorithm: only hmac-sha256',
  /** 401: `created` (or `expires`) is outside the allowed clock skew. */
  signatureStale: (): string => 'Request signature is outside the allowed clock skew',
  /** 401: the nonce was used before in this session. */
  signatureReplayed: (): string => 'Request nonce already used',
  /** 401: Content-Digest does not match the body. */
  digestMismatch: (): string => 'Content-Digest does not match the body',
  /** 401: the body's bytes are not available to the guard. */
  bodyUnverifiable: (): string => 'Request body cannot be verified',
  /** 401: the HMAC does not verify. */
  signatureInvalid: (): string => 'Invalid request signature',
  /** Log line, once: signature mode got a body without `req.rawBody`. */
  rawBodyMissing: (): string =>
    'Signature mode needs the raw body bytes: create the app with NestFactory.create(AppModule, { rawBody: true }) (or register a raw body parser for this content type)',
  /** TypeError from `signGrpcCall`: the method path is not `/package.Service/Method`. */
  callUnsignable: (path: string): string =>
    `The call cannot be signed: ${JSON.stringify(path)} is not a gRPC method path such as "/package.Service/Method"`,
  /** Log line, once: signature mode on gRPC got a message whose bytes were not kept. */
  messageBytesMissing: (): string =>
    'Signature mode on gRPC needs the request message bytes: start the microservice with meshGrpcOptions() (or pass its packageDefinition through withMessageBytes())',
  /** TypeError from `signRequest`: no signature base can be built for this method and URL. */
  requestUnsignable: (): string => 'The request cannot be signed: bad method or URL',
} as const;
