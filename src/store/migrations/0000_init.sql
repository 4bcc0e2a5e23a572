CREATE TABLE `requests` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ts` integer NOT NULL,
	`request_id` text NOT NULL,
	`protocol` text NOT NULL,
	`endpoint` text NOT NULL,
	`client` text,
	`requested_model` text,
	`provider` text,
	`model` text,
	`key_name` text,
	`status` integer NOT NULL,
	`stream` integer DEFAULT false NOT NULL,
	`latency_ms` real NOT NULL,
	`ttft_ms` real,
	`input_tokens` integer DEFAULT 0 NOT NULL,
	`output_tokens` integer DEFAULT 0 NOT NULL,
	`cached_tokens` integer DEFAULT 0 NOT NULL,
	`usage_estimated` integer DEFAULT false NOT NULL,
	`cost_usd` real DEFAULT 0 NOT NULL,
	`error` text,
	`attempts` text DEFAULT '[]' NOT NULL
);
--> statement-breakpoint
CREATE INDEX `requests_ts` ON `requests` (`ts`);--> statement-breakpoint
CREATE INDEX `requests_client_ts` ON `requests` (`client`,`ts`);