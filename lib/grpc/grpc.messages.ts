/**
 * Texts of the gRPC handshake service and of `meshGrpcOptions()`: startup errors, option errors
 * and the handshake's logged reasons.
 *
 * @example
 * ```ts
 * throw new TypeError(GrpcMessages.optionInvalid('package', 'a package name', 42));
 * ```
 */
export const GrpcMessages = {
  /** Startup error: `MeshSessionModule` is not visible to `MeshSessionGrpcModule`. */
  moduleMissing: (): string =>
    'MeshSessionGrpcModule needs MeshSessionModule registered globally: import ' +
    'MeshSessionModule.forRoot({ isGlobal: true, serviceId, handshake: { ... } }) (or forRootAsync) in the app',
  /** Startup error: `MeshSessionModule` runs without the `handshake` option. */
  handshakeMissing: (): string =>
    'MeshSessionGrpcModule serves the handshake, but MeshSessionModule has no handshake ' +
    'configured: set serviceId and handshake: { privateKey, trustedServices } in its options',
  /** Option error of `meshGrpcOptions()`: a value of the wrong kind. */
  optionInvalid: (name: string, expected: string, got: string): string =>
    `meshGrpcOptions(): ${name} must be ${expected}, got ${got}`,
  /** Option error of `meshGrpcOptions()`: both ways of giving the protos. */
  optionsExclusive: (): string =>
    'meshGrpcOptions(): give either protoPath or packageDefinition, not both',
  /** Option error of `meshGrpcOptions()`: a package but nothing to find it in. */
  protosMissing: (): string =>
    "meshGrpcOptions(): package names the app's own packages, so protoPath or packageDefinition is required",
  /** Option error of `meshGrpcOptions()`: the protos could not be loaded. */
  protoLoadFailed: (reason: string): string =>
    `meshGrpcOptions(): the protos in protoPath could not be loaded: ${reason}`,
  /** Option error of `meshGrpcOptions()`: a package that no loaded definition has. */
  packageUnknown: (name: string): string =>
    `meshGrpcOptions(): package ${JSON.stringify(name)} is not in the loaded protos`,
  /** Logged reason of a failed handshake: the message's bytes are not a `ClientHello`. */
  helloUndecodable: (): string => 'the ClientHello message could not be decoded',
} as const;
