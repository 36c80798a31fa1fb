/**
 * Injection token for the resolved {@link MeshSessionModuleOptions}.
 *
 * @example
 * ```ts
 * constructor(@Inject(MESH_SESSION_OPTIONS) private readonly options: ResolvedMeshSessionOptions) {}
 * ```
 */
export const MESH_SESSION_OPTIONS = Symbol('MESH_SESSION_OPTIONS');
