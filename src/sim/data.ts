import type { Rng } from './random.ts';

/**
 * Realistic-looking building blocks for simulated vendor records: people, public IP addresses with
 * a plausible location and network, browsers. Everything is drawn from a seeded `Rng`.
 * No vendor behaviour lives here: these are field values only (assumed plausible, not taken from any
 * vendor's data); each vendor simulator cites the record shape it fills with them.
 */

const FIRST = [
  'Alice',
  'Bob',
  'Carmen',
  'Deepak',
  'Elena',
  'Farid',
  'Grace',
  'Hiroshi',
  'Ingrid',
  'Jamal',
  'Katarzyna',
  'Liam',
  'Mei',
  'Noah',
  'Olivia',
  'Pedro',
  'Quinn',
  'Rania',
  'Sven',
  'Tomás',
  'Uma',
  'Victor',
  'Wen',
  'Ximena',
  'Yusuf',
  'Zoë',
  'Aisha',
  'Ben',
  'Chloé',
  'Daniel',
  'Emma',
  'Felix',
  'Hannah',
  'Ivan',
  'Julia',
  'Kenji',
  'Lucía',
  'Marco',
  'Nadia',
  'Oscar',
  'Priya',
  'Rafael',
  'Sara',
  'Theo',
  'Valentina',
  'William',
] as const;

const LAST = [
  'Andersson',
  'Becker',
  'Chen',
  'Dubois',
  'Evans',
  'Fischer',
  'García',
  'Hansen',
  'Ito',
  'Johnson',
  'Kowalski',
  'Lopez',
  'Müller',
  'Nakamura',
  'Okafor',
  'Patel',
  'Quintero',
  'Rossi',
  'Schmidt',
  'Tanaka',
  'Usman',
  'Van Dijk',
  'Williams',
  'Xu',
  'Yilmaz',
  'Zhang',
  'Almeida',
  'Brown',
  'Costa',
  'Dimitrov',
  'Eriksson',
  'Fernández',
  'Gupta',
  'Horvat',
  'Ivanova',
  'Jensen',
  'Kim',
  'Larsen',
  'Martin',
  'Nguyen',
  "O'Brien",
  'Petrov',
  'Sato',
  'Walsh',
] as const;

export interface Person {
  first: string;
  last: string;
  displayName: string;
  /** ASCII login/email local part, e.g. `tomas.fernandez`. */
  login: string;
  email: string;
}

const ascii = (s: string) =>
  s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z]/g, '')
    .toLowerCase();

export function person(rng: Rng, domain = 'example.com'): Person {
  const first = rng.pick(FIRST);
  const last = rng.pick(LAST);
  const login = `${ascii(first)}.${ascii(last)}${rng.bool(0.2) ? rng.int(1, 99) : ''}`;
  return { first, last, displayName: `${first} ${last}`, login, email: `${login}@${domain}` };
}

export interface Geo {
  city: string;
  state: string;
  /** Country name as Okta prints it. */
  country: string;
  /** ISO 3166-1 alpha-2. */
  countryCode: string;
  postalCode: string;
  lat: number;
  lon: number;
}

const CITIES: readonly Geo[] = [
  {
    city: 'San Francisco',
    state: 'California',
    country: 'United States',
    countryCode: 'US',
    postalCode: '94107',
    lat: 37.7697,
    lon: -122.3933,
  },
  {
    city: 'New York',
    state: 'New York',
    country: 'United States',
    countryCode: 'US',
    postalCode: '10001',
    lat: 40.7484,
    lon: -73.9967,
  },
  {
    city: 'Austin',
    state: 'Texas',
    country: 'United States',
    countryCode: 'US',
    postalCode: '78701',
    lat: 30.2711,
    lon: -97.7437,
  },
  {
    city: 'Chicago',
    state: 'Illinois',
    country: 'United States',
    countryCode: 'US',
    postalCode: '60601',
    lat: 41.8858,
    lon: -87.6181,
  },
  {
    city: 'Seattle',
    state: 'Washington',
    country: 'United States',
    countryCode: 'US',
    postalCode: '98101',
    lat: 47.6101,
    lon: -122.3344,
  },
  {
    city: 'Toronto',
    state: 'Ontario',
    country: 'Canada',
    countryCode: 'CA',
    postalCode: 'M5H',
    lat: 43.6532,
    lon: -79.3832,
  },
  {
    city: 'London',
    state: 'England',
    country: 'United Kingdom',
    countryCode: 'GB',
    postalCode: 'EC2V',
    lat: 51.5164,
    lon: -0.093,
  },
  {
    city: 'Dublin',
    state: 'Leinster',
    country: 'Ireland',
    countryCode: 'IE',
    postalCode: 'D02',
    lat: 53.3331,
    lon: -6.2489,
  },
  {
    city: 'Berlin',
    state: 'Land Berlin',
    country: 'Germany',
    countryCode: 'DE',
    postalCode: '10115',
    lat: 52.5323,
    lon: 13.3846,
  },
  {
    city: 'Munich',
    state: 'Bavaria',
    country: 'Germany',
    countryCode: 'DE',
    postalCode: '80331',
    lat: 48.1374,
    lon: 11.5755,
  },
  {
    city: 'Paris',
    state: 'Île-de-France',
    country: 'France',
    countryCode: 'FR',
    postalCode: '75002',
    lat: 48.8682,
    lon: 2.3417,
  },
  {
    city: 'Amsterdam',
    state: 'North Holland',
    country: 'Netherlands',
    countryCode: 'NL',
    postalCode: '1012',
    lat: 52.3759,
    lon: 4.8975,
  },
  {
    city: 'Stockholm',
    state: 'Stockholm County',
    country: 'Sweden',
    countryCode: 'SE',
    postalCode: '111 20',
    lat: 59.3326,
    lon: 18.0649,
  },
  {
    city: 'Madrid',
    state: 'Madrid',
    country: 'Spain',
    countryCode: 'ES',
    postalCode: '28013',
    lat: 40.4167,
    lon: -3.7033,
  },
  {
    city: 'Warsaw',
    state: 'Mazovia',
    country: 'Poland',
    countryCode: 'PL',
    postalCode: '00-001',
    lat: 52.2298,
    lon: 21.0118,
  },
  {
    city: 'Bengaluru',
    state: 'Karnataka',
    country: 'India',
    countryCode: 'IN',
    postalCode: '560001',
    lat: 12.9716,
    lon: 77.5946,
  },
  {
    city: 'Singapore',
    state: 'Singapore',
    country: 'Singapore',
    countryCode: 'SG',
    postalCode: '048583',
    lat: 1.2855,
    lon: 103.8565,
  },
  {
    city: 'Tokyo',
    state: 'Tokyo',
    country: 'Japan',
    countryCode: 'JP',
    postalCode: '100-0005',
    lat: 35.6812,
    lon: 139.7671,
  },
  {
    city: 'Sydney',
    state: 'New South Wales',
    country: 'Australia',
    countryCode: 'AU',
    postalCode: '2000',
    lat: -33.8688,
    lon: 151.2093,
  },
  {
    city: 'São Paulo',
    state: 'São Paulo',
    country: 'Brazil',
    countryCode: 'BR',
    postalCode: '01310',
    lat: -23.5613,
    lon: -46.6565,
  },
  {
    city: 'Mexico City',
    state: 'Mexico City',
    country: 'Mexico',
    countryCode: 'MX',
    postalCode: '06600',
    lat: 19.4326,
    lon: -99.1332,
  },
  {
    city: 'Lagos',
    state: 'Lagos',
    country: 'Nigeria',
    countryCode: 'NG',
    postalCode: '100001',
    lat: 6.4541,
    lon: 3.3947,
  },
];

export function geo(rng: Rng): Geo {
  return rng.pick(CITIES);
}

export interface Network {
  asNumber: number;
  asOrg: string;
  isp: string;
  domain: string;
  /** Public first octets this network announces (roughly). */
  prefixes: readonly number[];
}

const NETWORKS: readonly Network[] = [
  {
    asNumber: 7922,
    asOrg: 'comcast',
    isp: 'comcast cable communications llc',
    domain: 'comcast.net',
    prefixes: [24, 73, 98],
  },
  {
    asNumber: 701,
    asOrg: 'verizon',
    isp: 'verizon business',
    domain: 'verizon.net',
    prefixes: [71, 108, 173],
  },
  {
    asNumber: 16509,
    asOrg: 'amazon technologies inc.',
    isp: 'amazon.com inc.',
    domain: 'amazonaws.com',
    prefixes: [3, 18, 52, 54],
  },
  {
    asNumber: 8075,
    asOrg: 'microsoft corporation',
    isp: 'microsoft corporation',
    domain: 'microsoft.com',
    prefixes: [20, 40, 52],
  },
  {
    asNumber: 3320,
    asOrg: 'deutsche telekom ag',
    isp: 'deutsche telekom ag',
    domain: 't-ipconnect.de',
    prefixes: [79, 84, 91],
  },
  {
    asNumber: 2856,
    asOrg: 'british telecommunications plc',
    isp: 'bt',
    domain: 'bt.com',
    prefixes: [81, 86, 109],
  },
  { asNumber: 3215, asOrg: 'orange s.a.', isp: 'orange', domain: 'orange.fr', prefixes: [2, 90, 92] },
  {
    asNumber: 9498,
    asOrg: 'bharti airtel ltd.',
    isp: 'bharti airtel',
    domain: 'airtel.in',
    prefixes: [106, 122, 182],
  },
  {
    asNumber: 13335,
    asOrg: 'cloudflare, inc.',
    isp: 'cloudflare warp',
    domain: 'cloudflare.com',
    prefixes: [104, 162, 172],
  },
  {
    asNumber: 2497,
    asOrg: 'internet initiative japan inc.',
    isp: 'iij',
    domain: 'iij.ad.jp',
    prefixes: [202, 210],
  },
];

export function network(rng: Rng): Network {
  return rng.pick(NETWORKS);
}

/** A public IPv4 address (never RFC 1918, loopback or link-local). */
export function ipv4(rng: Rng, net: Network = network(rng)): string {
  return `${rng.pick(net.prefixes)}.${rng.int(1, 254)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
}

export interface Browser {
  raw: string;
  /** OS name as Okta prints it (`Mac OS X`, `Windows 10`, `iOS`, …). */
  os: string;
  /** Okta browser constant (`CHROME`, `SAFARI`, …). */
  browser: string;
  /** `Computer` or `Mobile`. */
  device: string;
}

const BROWSERS: readonly (readonly [Browser, number])[] = [
  [
    {
      raw: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
      os: 'Mac OS X',
      browser: 'CHROME',
      device: 'Computer',
    },
    30,
  ],
  [
    {
      raw: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
      os: 'Windows 10',
      browser: 'CHROME',
      device: 'Computer',
    },
    28,
  ],
  [
    {
      raw: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70',
      os: 'Windows 10',
      browser: 'EDGE_CHROMIUM',
      device: 'Computer',
    },
    12,
  ],
  [
    {
      raw: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
      os: 'Mac OS X',
      browser: 'SAFARI',
      device: 'Computer',
    },
    10,
  ],
  [
    {
      raw: 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
      os: 'Linux',
      browser: 'FIREFOX',
      device: 'Computer',
    },
    5,
  ],
  [
    {
      raw: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
      os: 'iOS',
      browser: 'MOBILE_SAFARI',
      device: 'Mobile',
    },
    8,
  ],
  [
    {
      raw: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36',
      os: 'Android',
      browser: 'CHROME',
      device: 'Mobile',
    },
    5,
  ],
  [
    {
      raw: 'okta-sdk-java/8.2.3 java/17.0.9 Linux/5.15.0-1051-aws',
      os: 'Linux',
      browser: 'UNKNOWN',
      device: 'Unknown',
    },
    2,
  ],
];

export function browser(rng: Rng): Browser {
  return rng.weighted(BROWSERS);
}

const APPS = [
  'Salesforce',
  'Slack',
  'Zoom',
  'Workday',
  'GitHub Enterprise',
  'Atlassian Cloud',
  'Google Workspace',
  'Microsoft Office 365',
  'Box',
  'AWS IAM Identity Center',
  'ServiceNow',
  'Tableau Cloud',
  'Zscaler',
  'ChatGPT Enterprise',
] as const;

export function appName(rng: Rng): string {
  return rng.pick(APPS);
}

const PROMPTS = [
  'Summarise the attached quarterly security review in five bullet points for the leadership team.',
  'Draft a polite reply declining the vendor meeting next Tuesday and propose two alternative dates.',
  'Explain the difference between SAML and OIDC for a new engineer, with one example of each flow.',
  'Write a Python function that parses ISO-8601 timestamps with microseconds and returns UTC datetimes.',
  'Review this SQL query for performance problems: SELECT * FROM orders WHERE created_at > now() - interval 7 day.',
  'Translate the onboarding checklist into Spanish and keep the formatting as a table.',
  'What are common causes of HTTP 429 responses and how should a client back off?',
  'Create a short incident summary: VPN outage from 09:10 to 09:55 UTC caused by an expired certificate.',
  'Suggest three names for an internal tool that collects audit logs from SaaS vendors.',
  'Give me a regex that matches AWS access key ids but not secret keys.',
] as const;

const ANSWERS = [
  'Here is a concise summary with the key points highlighted for the leadership audience.',
  'Sure — below is a draft you can adapt. I kept the tone friendly and offered two alternatives.',
  'SAML exchanges signed XML assertions through the browser, while OIDC builds on OAuth 2.0 with JSON tokens.',
  'The function below uses datetime.fromisoformat and normalises the result to UTC.',
  'Selecting every column prevents index-only scans; add an index on created_at and list the needed columns.',
  'A 429 means the client exceeded a rate limit; honour Retry-After and add exponential backoff with jitter.',
] as const;

export function prompt(rng: Rng): string {
  return rng.pick(PROMPTS);
}

export function answer(rng: Rng): string {
  return rng.pick(ANSWERS);
}
