// The architecture's boundaries, checked by `npm test` (npm run check:boundaries) rather than
// stated in comments. Layers, from the bottom:
//   src/core      config, models, RPG maths, data, experiments, runs, checkpoints: no tfjs,
//                 no vscode, no wire protocol, no process code
//   src/protocol  the JSON-RPC contract between extension and trainer: core only
//   src/engines   the training engines behind core/engine.ts's seam (tfjs lives here)
//   src/trainer, src/cli, src/server, src/extension, webview-ui: the processes
// The extension and the language server must never reach tfjs, not even through another module.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle: split the shared piece into its own module.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'core-is-pure',
      severity: 'error',
      comment: 'src/core imports no tensor library, no editor API, no wire protocol and no process or engine code.',
      from: { path: '^src/core/' },
      to: { path: ['@tensorflow', '^vscode$', 'vscode-jsonrpc', 'vscode-languageserver', 'vscode-languageclient', '^src/(protocol|engines|trainer|extension|server|cli|sweep|compress|export|webview-contract)/'] },
    },
    {
      name: 'core-is-pure-node-modules',
      severity: 'error',
      comment: 'src/core imports no tensor library or editor API (resolved paths).',
      from: { path: '^src/core/' },
      to: { path: ['node_modules/@tensorflow/', 'node_modules/vscode', 'node_modules/webgpu'] },
    },
    {
      name: 'protocol-depends-on-core-only',
      severity: 'error',
      comment: 'The wire contract depends on the core (and vscode-jsonrpc), never on a process or an engine.',
      from: { path: '^src/protocol/' },
      to: { path: ['^src/(engines|trainer|extension|server|cli|sweep|compress|export)/', '@tensorflow', '^vscode$'] },
    },
    {
      name: 'engines-know-no-processes',
      severity: 'error',
      comment: 'Engines are driven through the seam; they import no process code and no CLI.',
      from: { path: '^src/engines/' },
      to: { path: '^src/(trainer|extension|server|cli|protocol)/' },
    },
    {
      name: 'editor-never-reaches-tfjs',
      severity: 'error',
      comment: 'The extension host, its worker and the language server must never load tfjs (or an engine), directly or through another module.',
      from: { path: '^src/(extension|server)/' },
      to: { path: ['@tensorflow', '^src/engines/', 'node_modules/webgpu'], reachable: true },
    },
    {
      name: 'trainer-never-imports-vscode',
      severity: 'error',
      comment: 'The trainer, CLI, engines and core run outside VS Code.',
      from: { path: '^src/(trainer|cli|engines|core|sweep|compress|export|protocol)/' },
      to: { path: ['^vscode$', 'node_modules/vscode/', '^src/(extension|server)/'], reachable: true },
    },
    {
      name: 'webviews-are-browser-code',
      severity: 'error',
      comment: 'Webview apps import only the webview contract and browser libraries.',
      from: { path: '^webview-ui/' },
      to: { path: ['^src/(?!webview-contract/|core/experiment/types|core/format/|core/sweep/fit)', '@tensorflow', '^vscode$'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['^node_modules', '^dist/', '^out/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], mainFields: ['module', 'main', 'types'] },
  },
};
