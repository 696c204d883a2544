export { WebhookDispatcher, webhookRetryDelayMs, type WebhookDispatcherOptions } from './dispatcher.ts';
export { webhookDeliveryRecord, type WebhookDeliveryRecord } from './delivery-records.ts';
export { sendWebhook, webhookBody, type SendResult } from './sender.ts';
export { computeSignature, signatureHeader, signWebhook, timestampHeader, verifyWebhookSignature, type VerifyOptions } from './signature.ts';
export { classifyAddress, guardedLookup, isAllowedAddress, refuseUrl, type AddressClass, type TargetPolicy } from './target-policy.ts';
export { ensureTenant, newWebhookSecret, rotateWebhookSecret } from './tenant-secret.ts';
