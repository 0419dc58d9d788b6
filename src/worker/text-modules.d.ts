// The files wrangler.toml's Text rule bundles as strings (worker/dashboard-assets.ts).
declare module 'uplot/dist/uPlot.min.css' {
  const text: string;
  export default text;
}
declare module 'uplot/dist/uPlot.iife.min.js' {
  const text: string;
  export default text;
}
