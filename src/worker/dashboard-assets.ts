/**
 * @module worker/dashboard-assets: uPlot's files for the Worker's dashboard, bundled as text. On Node the front
 * reads them from the uplot package at start-up; a Worker has no files, so wrangler.toml's Text rule makes the
 * bundler inline them.
 */
import type { DashboardAssets } from '../routes/dashboard.js';
import uplotCss from 'uplot/dist/uPlot.min.css';
import uplotJs from 'uplot/dist/uPlot.iife.min.js';

export const workerDashboardAssets: DashboardAssets = { 'uplot.js': uplotJs, 'uplot.css': uplotCss };
