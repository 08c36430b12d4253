// s3rver ships no types; s3-gate.ts describes the part it uses.
declare module 's3rver';
