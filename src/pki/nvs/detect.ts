/**
 * Is this an NVS partition image? Whole 4096-byte pages, and at least one page with a page state
 * NVS writes, a known format version and a header CRC that matches; no page whose state is
 * not one NVS writes. esp_secure_cert's legacy "nvs" layout is such an image with a namespace
 * `esp_secure_cert` (or `pre_prov`).
 */
import { decodePageHeader, NVS_PAGE_SIZE } from './page-header.js';
import { decodeNvs } from './decoder.js';

/** The namespaces esp_secure_cert_mgr opens in its legacy nvs layout. */
export const SECURE_CERT_NVS_NAMESPACES: readonly string[] = ['esp_secure_cert', 'pre_prov'];

export function looksLikeNvs(bytes: Uint8Array): boolean {
  if (bytes.length === 0 || bytes.length % NVS_PAGE_SIZE !== 0) return false;
  let headers = 0;
  for (let offset = 0; offset < bytes.length; offset += NVS_PAGE_SIZE) {
    const page = bytes.subarray(offset, offset + NVS_PAGE_SIZE);
    if (page.every((byte) => byte === 0xff)) continue;
    const header = decodePageHeader(page);
    if (header.stateName === 'invalid') return false;
    if (header.crcOk && header.version !== undefined && header.stateName !== 'empty') headers++;
  }
  return headers > 0;
}

/** An NVS image holding esp_secure_cert's legacy namespace. */
export function isSecureCertNvs(bytes: Uint8Array): boolean {
  return decodeNvs(bytes).namespaces.some((ns) => SECURE_CERT_NVS_NAMESPACES.includes(ns.name));
}
