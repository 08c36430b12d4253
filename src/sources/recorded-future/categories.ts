/**
 * Playbook alert categories and the path of their lookup endpoint under `/playbook-alert/` (Recorded Future's
 * client psengine: RecordedFuture-ProfessionalServices/psengine `playbook_alerts/pa_category.py` for the
 * category names, `playbook_alerts/mappings.py` with `endpoints.py` for the paths). Other categories are read
 * with `GET /playbook-alert/common/{id}`.
 */
export const PLAYBOOK_CATEGORY_PATHS: Readonly<Record<string, string>> = {
  domain_abuse: 'domain_abuse',
  fraud_compromised_checks: 'compromised_bank_checks',
  cyber_vulnerability: 'vulnerability',
  third_party_risk: 'third_party_risk',
  code_repo_leakage: 'code_repo_leakage',
  identity_novel_exposures: 'identity_novel_exposures',
  geopolitics_facility: 'geopolitics_facility',
  malware_report: 'malware_report',
  malicious_sites: 'malicious_sites',
};
