import { z } from 'zod';
import { SECRET } from '../core/secret-spec.ts';
import { defineAccountKind } from '../core/source.ts';

/** OpenAI: the ChatGPT Enterprise Compliance API and the OpenAI Platform API (sources/chatgpt-enterprise). */
export const openai = defineAccountKind({
  id: 'openai',
  title: 'OpenAI',
  fields: z
    .object({
      apiKey: z
        .string()
        .min(1)
        .meta({ ...SECRET, title: 'Admin API key' })
        .describe('API key with the Compliance API scopes granted by OpenAI'),
      organizationId: z
        .string()
        .regex(/^org-[A-Za-z0-9]+$/, 'expected an OpenAI organization ID such as org-AbC123')
        .optional()
        .meta({ title: 'Organization ID' })
        .describe(
          'OpenAI Platform organization ID (org-…); needed for organization-scoped logs such as COSTS',
        ),
    })
    .strict(),
  // The Compliance API (api.chatgpt.com) and the OpenAI Platform API (organization-scoped logs).
  origins: () => ['https://api.chatgpt.com', 'https://api.openai.com'],
  async authorize(a, headers) {
    headers.set('authorization', `Bearer ${a.apiKey}`);
  },
  // The Compliance API allows 100 requests a minute per workspace, method and route.
  rateLimit: { perSecond: 1.5, burst: 10 },
});
