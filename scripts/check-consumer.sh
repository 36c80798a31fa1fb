#!/usr/bin/env bash
# Consumer check: does the packed tarball work in a fresh app that has only the required peers?
#
#   1. builds the library and packs it (npm pack) into a temp dir;
#   2. creates a fresh "type": "module" project next to it and installs the tarball with only
#      @nestjs/common, @nestjs/core, @nestjs/platform-express, reflect-metadata, rxjs,
#      typescript@~6.0.3 and @types/node: never ioredis, @nestjs/terminus, @nestjs/schedule, the
#      gRPC peers (@nestjs/microservices, @grpc/grpc-js, @grpc/proto-loader) or
#      @opentelemetry/api, and checks that npm did not pull any of those in (say, as a required
#      peer);
#   3. compiles a small app against the published .d.ts files with tsc (strict, nodenext,
#      skipLibCheck: false, decorators with metadata): MeshSessionModule.forRoot (with its
#      telemetry option, whose types must not need @opentelemetry/api), a controller with
#      @UseGuards(SessionGuard) and @CurrentSession(), SessionManager.createSession;
#   4. runs it on a free port of 127.0.0.1: creates a session, then expects 200 and the session
#      from the guarded route with the x-mesh-session-id header, 401 without it or with an
#      unknown id, and the no-op telemetry recorder (no @opentelemetry/api to record with).
#
# Usage: npm run test:consumer      (KEEP_CONSUMER_DIR=1 keeps the temp dir for a look after)
set -euo pipefail

cd "$(dirname "$0")/.."
root="$PWD"
started=$SECONDS

# Quiet npm, packages from the local cache whenever it has them.
npm_flags=(--no-audit --no-fund --loglevel=error --prefer-offline --cache "$(npm config get cache)")
forbidden=(ioredis @nestjs/terminus @nestjs/schedule @nestjs/microservices @grpc/grpc-js @grpc/proto-loader @opentelemetry/api)

work="$(mktemp -d "${TMPDIR:-/tmp}/mesh-consumer.XXXXXX")"
current_step='setup'
finish() {
  local status=$?
  if [[ $status -ne 0 ]]; then
    printf '\ncheck-consumer: FAILED at step "%s" (exit %s) after %ss\n' \
      "$current_step" "$status" "$((SECONDS - started))" >&2
  fi
  if [[ "${KEEP_CONSUMER_DIR:-}" == 1 ]]; then
    printf 'check-consumer: kept %s\n' "$work" >&2
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap finish EXIT

step() {
  current_step="$1"
  printf '\n==> [%3ss] %s\n' "$((SECONDS - started))" "$1"
}
fail() {
  printf 'check-consumer: %s\n' "$*" >&2
  exit 1
}
# Version the project itself resolved (package-lock.json), so the install is served by the cache.
installed_version() {
  node -p "require(process.argv[1]).version" "$root/node_modules/$1/package.json"
}

step 'build the library (npm run build)'
npm run build --silent

step 'pack the tarball'
mkdir -p "$work/pack"
tarball_name="$(npm pack --pack-destination "$work/pack" "${npm_flags[@]}" | tail -n 1)"
tarball="$work/pack/$tarball_name"
[[ -f "$tarball" ]] || fail "npm pack did not produce $tarball"
echo "$tarball_name ($(du -k "$tarball" | cut -f1) kB)"

step 'create the consumer project'
app="$work/consumer"
mkdir -p "$app/src"
cat >"$app/package.json" <<'JSON'
{
  "name": "mesh-session-consumer-check",
  "version": "0.0.0",
  "private": true,
  "type": "module"
}
JSON
cat >"$app/tsconfig.json" <<'JSON'
{
  "compilerOptions": {
    "target": "ES2022",
    "module": "nodenext",
    "moduleResolution": "nodenext",
    "strict": true,
    "skipLibCheck": false,
    "experimentalDecorators": true,
    "emitDecoratorMetadata": true,
    "types": ["node"],
    "rootDir": "src",
    "outDir": "dist",
    "noEmitOnError": true,
    "forceConsistentCasingInFileNames": true
  },
  "include": ["src"]
}
JSON
cat >"$app/src/main.ts" <<'TS'
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Controller, Get, Module, Post, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  CurrentSession,
  MeshSessionModule,
  NOOP_SESSION_TELEMETRY,
  SESSION_TELEMETRY,
  SessionGuard,
  SessionManager,
  type MeshTelemetryOptions,
  type Session,
} from 'nestjs-mesh-session';

interface SessionView {
  id: string;
  serviceId: string;
  metadata: Record<string, unknown> | undefined;
}

const view = (session: Session): SessionView => ({
  id: session.id,
  serviceId: session.serviceId,
  metadata: session.metadata,
});

@Controller()
class ConsumerController {
  constructor(private readonly sessions: SessionManager) {}

  @Post('sessions')
  async open(): Promise<SessionView> {
    return view(
      await this.sessions.createSession('billing', randomBytes(32), { from: 'consumer-check' }),
    );
  }

  @Get('whoami')
  @UseGuards(SessionGuard)
  whoami(@CurrentSession() session: Session): SessionView {
    return view(session);
  }
}

// The telemetry option's types stand alone: no OpenTelemetry package is installed here.
const telemetry: MeshTelemetryOptions = { peerServiceAttribute: false };

@Module({
  imports: [MeshSessionModule.forRoot({ requestSigning: false, telemetry })],
  controllers: [ConsumerController],
})
class AppModule {}

const watchdog = setTimeout(() => {
  console.error('consumer app: no result within 30 s');
  process.exit(1);
}, 30_000);
watchdog.unref();

const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
try {
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;

  const created = await fetch(`${base}/sessions`, { method: 'POST' });
  assert.equal(created.status, 201, 'POST /sessions status');
  const session = (await created.json()) as SessionView;
  assert.match(session.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(session.serviceId, 'billing');
  assert.equal('sessionKey' in session, false, 'the session key must not be serialised');

  const allowed = await fetch(`${base}/whoami`, { headers: { 'x-mesh-session-id': session.id } });
  assert.equal(allowed.status, 200, 'GET /whoami with the session header');
  assert.deepEqual(await allowed.json(), session, 'GET /whoami body');

  const missing = await fetch(`${base}/whoami`);
  assert.equal(missing.status, 401, 'GET /whoami without the session header');

  const unknown = await fetch(`${base}/whoami`, {
    headers: { 'x-mesh-session-id': '00000000-0000-4000-8000-000000000000' },
  });
  assert.equal(unknown.status, 401, 'GET /whoami with an unknown session id');

  assert.equal(
    app.get(SESSION_TELEMETRY),
    NOOP_SESSION_TELEMETRY,
    'without @opentelemetry/api the module records nothing',
  );

  console.log(`consumer app on port ${port}: created ${session.id}; 200 with it, 401 without`);
} finally {
  await app.close();
}
TS

step 'install the tarball and the required peers only'
deps=(
  "$tarball"
  "@nestjs/common@$(installed_version @nestjs/common)"
  "@nestjs/core@$(installed_version @nestjs/core)"
  "@nestjs/platform-express@$(installed_version @nestjs/platform-express)"
  "reflect-metadata@$(installed_version reflect-metadata)"
  "rxjs@$(installed_version rxjs)"
  'typescript@~6.0.3'
  "@types/node@$(installed_version @types/node)"
)
printf '  %s\n' "$tarball_name" "${deps[@]:1}"
(cd "$app" && npm install "${npm_flags[@]}" "${deps[@]}")

step 'check that no optional peer was installed'
unwanted=()
for name in "${forbidden[@]}"; do
  # Anywhere in the tree, nested copies included.
  while IFS= read -r dir; do
    unwanted+=("${dir#"$app"/}")
  done < <(find "$app/node_modules" -type d -path "*/node_modules/$name" -prune -print)
done
if [[ ${#unwanted[@]} -gt 0 ]]; then
  for name in "${forbidden[@]}"; do
    (cd "$app" && npm explain "$name" --loglevel=error 2>/dev/null) || true
  done
  fail "installed although the consumer asked for none of them: ${unwanted[*]}"
fi
echo "none of ${forbidden[*]} installed"
tsc_version="$("$app/node_modules/.bin/tsc" --version)"

step "compile the consumer app ($tsc_version, skipLibCheck false, strict, nodenext)"
(cd "$app" && ./node_modules/.bin/tsc -p tsconfig.json)

step 'run the consumer app'
(cd "$app" && timeout 60 node dist/main.js)

step "passed in $((SECONDS - started))s"
