/** OHIF's configuration as the gateway serves it, under /viewer/ (copied by scripts/ohif.mjs). */

// The user's login: the web app keeps this tab's bearer token under `acme.session` in
// sessionStorage (same origin). OHIF takes a token from the `token` query parameter and removes
// it from the address at once; it is put there here, in the browser, before OHIF starts, so it
// never travels in a URL to any server.
(function handOverToken() {
  let token = null;
  try {
    const session = JSON.parse(window.sessionStorage.getItem('acme.session') || 'null');
    token = session && typeof session.access_token === 'string' ? session.access_token : null;
  } catch {
    token = null;
  }
  if (token === null) return;
  const url = new URL(window.location.href);
  if (url.searchParams.has('token')) return;
  url.searchParams.set('token', token);
  window.history.replaceState(window.history.state, '', url);
})();

const dicomweb = window.location.origin + '/function/worklist/dicomweb';

window.config = {
  name: 'acme',
  routerBasename: '/viewer',
  extensions: [],
  modes: [],
  customizationService: {},
  showStudyList: true,
  maxNumberOfWebWorkers: 2,
  showWarningMessageForCrossOrigin: false,
  showCPUFallbackMessage: true,
  showLoadingIndicator: true,
  strictZSpacingForVolumeViewport: true,
  showErrorDetails: 'production',
  investigationalUseDialog: { option: 'never' },
  defaultDataSourceName: 'acme',
  dataSources: [
    {
      namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
      sourceName: 'acme',
      configuration: {
        friendlyName: 'Acme Imaging',
        name: 'acme',
        wadoUriRoot: dicomweb,
        qidoRoot: dicomweb,
        wadoRoot: dicomweb,
        qidoSupportsIncludeField: false,
        imageRendering: 'wadors',
        thumbnailRendering: 'wadors',
        enableStudyLazyLoad: true,
        supportsFuzzyMatching: false,
        supportsWildcard: false,
        staticWado: false,
        singlepart: 'bulkdata,video',
        bulkDataURI: { enabled: true },
        omitQuotationForMultipartRequest: true,
      },
    },
  ],
};
