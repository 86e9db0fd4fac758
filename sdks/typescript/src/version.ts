/**
 * The package version, sent in the `User-Agent`. A unit test keeps it equal to package.json's.
 *
 * @module
 */

/** This package's version. */
export const VERSION = "0.1.0";
