// Workspace trust: in Restricted Mode configs, diagnostics, plans and past runs stay viewable,
// but nothing trains (training runs a process that reads dataset files and writes run folders).

/** Why training is not allowed now, or undefined when it is. Pure, so tests can call it. */
export function trainingBlockedReason(isTrusted: boolean): string | undefined {
  return isTrusted
    ? undefined
    : 'Training is disabled in Restricted Mode: it starts a background process that reads dataset files and writes run folders. Trust this workspace to train; configs, diagnostics, plans and past runs stay viewable.';
}
