export * from './rotating-file.js';
