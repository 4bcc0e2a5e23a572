CREATE TABLE `request_bodies` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ts` integer NOT NULL,
	`request_id` text NOT NULL,
	`request` text,
	`response` text,
	`truncated` integer DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE INDEX `request_bodies_ts` ON `request_bodies` (`ts`);--> statement-breakpoint
CREATE INDEX `request_bodies_request_id` ON `request_bodies` (`request_id`);--> statement-breakpoint
CREATE TABLE `spend_daily` (
	`day` text NOT NULL,
	`client` text DEFAULT '' NOT NULL,
	`provider` text DEFAULT '' NOT NULL,
	`model` text DEFAULT '' NOT NULL,
	`requests` integer DEFAULT 0 NOT NULL,
	`errors` integer DEFAULT 0 NOT NULL,
	`input_tokens` integer DEFAULT 0 NOT NULL,
	`output_tokens` integer DEFAULT 0 NOT NULL,
	`cost_usd` real DEFAULT 0 NOT NULL,
	PRIMARY KEY(`day`, `client`, `provider`, `model`)
);
--> statement-breakpoint
CREATE INDEX `spend_daily_client_day` ON `spend_daily` (`client`,`day`);--> statement-breakpoint
ALTER TABLE `requests` ADD `cache_write_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `requests` ADD `unpriced` integer DEFAULT false NOT NULL;