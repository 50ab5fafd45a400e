/**
 * What an image of a deployable is made of, shared by `npm run deploy` and the image tests so that both build
 * the same thing: the build command (the Dockerfile, for linux/amd64, from the host-made bundle) and a digest
 * of the files the image's /app receives.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The cluster's nodes are amd64; a build on another machine must not produce its own architecture. */
export const PLATFORM = 'linux/amd64';

/** `<tool> build` of the Dockerfile for one deployable; `buildArgs` adds e.g. the tests' local RUNTIME_IMAGE. */
export function buildCommand(
  tool: string,
  name: string,
  image: string,
  buildArgs: Readonly<Record<string, string>> = {},
): string[] {
  return [
    tool,
    tool === 'buildah' ? 'bud' : 'build',
    '--platform',
    PLATFORM,
    '-f',
    'Dockerfile',
    '--build-arg',
    `FUNCTION=${name}`,
    ...Object.entries(buildArgs).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
    '-t',
    image,
    '.',
  ];
}

/** The files of a bundle that go into the image: all but source maps (.dockerignore keeps those out). */
export const shipsInImage = (relPath: string): boolean => !relPath.endsWith('.map');

/** sha256 over the sorted relative paths and contents of the shipped files of `dir`. */
export function contentDigest(dir: string, keep: (rel: string) => boolean = shipsInImage): string {
  const files = (readdirSync(dir, { recursive: true, encoding: 'utf8' }) as string[])
    .filter((rel) => statSync(join(dir, rel)).isFile() && keep(rel))
    .sort();
  const h = createHash('sha256');
  for (const rel of files) {
    h.update(`${rel}\0`);
    h.update(
      createHash('sha256')
        .update(readFileSync(join(dir, rel)))
        .digest('hex'),
    );
    h.update('\n');
  }
  return `sha256:${h.digest('hex')}`;
}

/**
 * The tag of an image: a digest of what it holds (the shipped bundle files and the Dockerfile that wraps
 * them), so every different build gets a different tag and an identical rebuild the same one. A git-commit
 * tag would name two different uncommitted builds alike, and the second deploy would apply an unchanged spec.
 */
export function contentTag(bundleDir: string, dockerfile: string): string {
  const h = createHash('sha256').update(contentDigest(bundleDir)).update('\0').update(dockerfile);
  return `c-${h.digest('hex').slice(0, 20)}`;
}

/** One tag for a set of images pushed together (`npm run deploy -- images`): a digest of their own tags. */
export function releaseTag(tags: readonly string[]): string {
  return `c-${createHash('sha256').update(tags.join('\n')).digest('hex').slice(0, 20)}`;
}
