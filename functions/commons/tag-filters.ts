import { BadRequestError, type Issue } from '../../shared/domain/errors';
import { TAG_KEY } from '../../shared/domain/stream-definition';

/**
 * `?tag.KEY=VALUE` filters, each key checked against the tag-key rule (an empty or `__proto__` key is a 400).
 *
 * @example
 * tagFilters({ 'tag.site': 'lyon' }); // { site: 'lyon' }
 */
export function tagFilters(params: Record<string, string | undefined>): Record<string, string> {
  const tags: Record<string, string> = Object.create(null);
  const issues: Issue[] = [];
  for (const [k, v] of Object.entries(params)) {
    if (!k.startsWith('tag.') || v === undefined) continue;
    const key = k.slice(4);
    if (!TAG_KEY.test(key) || key === '__proto__') issues.push({ path: [k], message: 'tag keys are 1-64 of A-Z a-z 0-9 _ . : -, and not __proto__' });
    else tags[key] = v;
  }
  if (issues.length > 0) throw new BadRequestError('Invalid query parameters.', issues);
  return tags;
}
